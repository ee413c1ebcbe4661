"""How long `scripts/milvus_service.py start` takes right after `stop`, with a client connected through the
stop (as `tests/integration/test_milvus.py`'s restart test has): the measure of that test's wait.

    .venv/bin/python benchmarks/milvus_restart.py [--service OTHER_CHECKOUT/scripts/milvus_service.py]

Starts a server on a free port in a temporary directory, writes and searches 10 vectors, stops it with
the client still connected, starts it again on the same data and times that start and the first search
that answers. Run it for two checkouts one after the other (one Milvus server per machine).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _service(script: Path, cmd: str, data: Path, port: int) -> float:
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, str(script), cmd, "--data", str(data), "--port", str(port)], text=True)
    if p.returncode != 0:
        raise SystemExit(f"milvus {cmd} failed")
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--service", type=Path, default=REPO / "scripts" / "milvus_service.py")
    a = ap.parse_args()
    from pymilvus import MilvusClient

    data, port = Path(tempfile.mkdtemp(prefix="milvus_restart_")), _free_port()
    _service(a.service, "start", data, port)
    client = MilvusClient(uri=f"http://127.0.0.1:{port}")
    try:
        client.create_collection("x", dimension=8)
        client.insert("x", [{"id": i, "vector": [float(i)] * 8} for i in range(10)])
        client.search("x", [[1.0] * 8], limit=2)
        stop_s = _service(a.service, "stop", data, port)  # the client is still connected
        start_s = _service(a.service, "start", data, port)
        t0 = time.monotonic()
        while True:
            try:
                hits = client.search("x", [[1.0] * 8], limit=2, timeout=5)
                break
            except Exception:  # noqa: BLE001  (the server re-loads its collections first)
                if time.monotonic() - t0 > 180:
                    raise
        print(
            f"stop {stop_s:.1f} s, start after stop {start_s:.1f} s, first search {time.monotonic() - t0:.1f} s "
            f"later ({len(hits[0])} hits)"
        )
    finally:
        client.close()
        _service(a.service, "stop", data, port)


if __name__ == "__main__":
    main()

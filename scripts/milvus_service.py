"""Start, stop and query a local Milvus standalone server (the `milvus` PyPI package) for development,
tests and benchmarks; `scripts/milvus.sh` calls this with .venv's Python.

    milvus_service.py start  [--data DIR] [--port N]   # returns once the server answers
    milvus_service.py stop   [--data DIR]
    milvus_service.py status [--data DIR]

`start` runs `milvus_service.py run` as a detached process that owns the server and records itself in
DIR/service.json; `stop` signals it, which stops Milvus (SIGTERM, then SIGKILL after a grace period:
Milvus 2.3 standalone often ignores SIGTERM for a minute; everything flushed is on disk either way).
The proxy port is the one asked for; the internal ports (etcd, coordinators) are picked free at the
first start and kept in DIR/ports.json for restarts. Run one server per machine: Milvus Lite's
embedded etcd also listens on a fixed peer port, and a second server beside it fails to start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parent.parent / ".milvus"
DEFAULT_PORT = 19530
STOP_GRACE_S = 5.0
SESSION_TTL_S = 10


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _state(data: Path) -> dict | None:
    f = data / "service.json"
    try:
        st = json.loads(f.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return st if _alive(int(st["pid"])) else None


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _bind_like_milvus(port: int) -> socket.socket | None:
    """The launcher's free-port probe, with SO_REUSEADDR as the Go servers themselves listen: a restart
    reuses its ports, whose connections from the last run sit in TIME_WAIT for a minute after a stop
    with clients attached; without the flag the probe reads them as taken and the restart waits that
    minute out. A port another process listens on still fails the probe."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        return None


def run(data: Path, port: int) -> int:
    """Own the server until SIGTERM/SIGINT: start it, record it, wait, stop it."""
    from milvus import MilvusServer  # the `milvus` package: a Milvus standalone binary and its launcher

    data.mkdir(parents=True, exist_ok=True)
    ports_file = data / "ports.json"
    ports = json.loads(ports_file.read_text()) if ports_file.is_file() else {}

    def make() -> MilvusServer:
        server = MilvusServer(wait_for_started=True)
        server.set_base_dir(str(data))
        # A restart reuses the internal ports of the first start: etcd still lists the components at
        # those addresses. A short session TTL lets the sessions of a killed server expire quickly.
        server.config.update(**{**ports, "proxy_port": port})
        server.config.set("common.session.ttl", SESSION_TTL_S)
        server.config.try_bind_port = _bind_like_milvus
        return server

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    t0 = time.monotonic()
    while True:
        server = make()
        try:
            server.start()
            break
        except RuntimeError as e:  # a port still taken (the last run's server not yet gone): wait
            if "bind failed" not in str(e) or time.monotonic() - t0 > 150:
                raise
            time.sleep(3)
    proc = server.server_proc
    keys = [k for k in server.config.configurable_items if k.endswith("_port") and k != "proxy_port"]
    ports_file.write_text(json.dumps({k: server.config.get(k) for k in keys}))
    (data / "service.json").write_text(
        json.dumps({"pid": os.getpid(), "milvus_pid": proc.pid, "port": port, "uri": f"http://127.0.0.1:{port}"})
    )
    print(f"milvus: serving on 127.0.0.1:{port}, data in {data}", flush=True)
    while not stopping and proc.poll() is None:
        time.sleep(0.2)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    (data / "service.json").unlink(missing_ok=True)
    (data / "stopped_at").write_text(str(time.time()))
    print(f"milvus: stopped (exit {proc.returncode})", flush=True)
    return 0


def start(data: Path, port: int, timeout: float = 240.0) -> int:
    data = data.resolve()
    st = _state(data)
    if st:
        print(f"milvus: already running on port {st['port']} (data {data}, pid {st['pid']})")
        return 0
    if _port_open(port):
        print(f"milvus: port {port} is taken by another process; choose one with --port", file=sys.stderr)
        return 1
    data.mkdir(parents=True, exist_ok=True)
    (data / "service.json").unlink(missing_ok=True)
    (data / "logs").mkdir(exist_ok=True)
    try:  # the sessions of the last run must have expired, or the components wait on them
        wait = float((data / "stopped_at").read_text()) + SESSION_TTL_S + 2 - time.time()
    except (OSError, ValueError):
        wait = 0
    if wait > 0:
        print(f"milvus: waiting {wait:.0f} s for the previous run's sessions to expire")
        time.sleep(wait)
    with open(data / "logs" / "service.log", "a") as log:
        proc = subprocess.Popen(
            [sys.executable, __file__, "run", "--data", str(data), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            print(f"milvus: failed to start; see {data / 'logs'}", file=sys.stderr)
            return 1
        if _state(data) and _port_open(port):
            print(f"milvus: running on 127.0.0.1:{port} (data {data}); started in {time.monotonic() - t0:.0f} s")
            return 0
        time.sleep(0.5)
    print(f"milvus: not up after {timeout:.0f} s; see {data / 'logs'}", file=sys.stderr)
    return 1


def stop(data: Path, timeout: float = 60.0) -> int:
    data = data.resolve()
    st = _state(data)
    if not st:
        print(f"milvus: not running (data {data})")
        return 0
    os.kill(int(st["pid"]), signal.SIGTERM)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if not _alive(int(st["pid"])) and not _alive(int(st["milvus_pid"])):
            print(f"milvus: stopped (data {data})")
            return 0
        time.sleep(0.2)
    print(f"milvus: still running after {timeout:.0f} s (pid {st['pid']})", file=sys.stderr)
    return 1


def status(data: Path) -> int:
    data = data.resolve()
    st = _state(data)
    if st and _port_open(int(st["port"])):
        print(f"milvus: running on {st['uri']} (data {data}, pid {st['pid']})")
        return 0
    print(f"milvus: not running (data {data})")
    return 3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A local Milvus standalone server for shoplens development and tests.")
    p.add_argument("command", choices=["start", "stop", "status", "run"])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data directory (default {DEFAULT_DATA})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"gRPC port on 127.0.0.1 (default {DEFAULT_PORT})")
    a = p.parse_args(argv)
    if a.command == "run":
        return run(a.data.resolve(), a.port)
    if a.command == "start":
        return start(a.data, a.port)
    if a.command == "stop":
        return stop(a.data)
    return status(a.data)


if __name__ == "__main__":
    sys.exit(main())

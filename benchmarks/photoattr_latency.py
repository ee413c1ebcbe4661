"""What the attribute MLP costs a photo-only text query, through Engine.search.

    nice .venv/bin/python benchmarks/photoattr_latency.py --queries 40

Two engines on the held-out photo-only stores of bench_quality2.py (run it first, with and without
`--heads-dir benchmarks/out/quality2/heads_heldout_mlp`): the held-out heads without and with the
MLP. Every query text is distinct and the query-vector cache is cleared before each search; the
three cases take turns per query: no MLP, MLP with its per-product readings dropped first ("cold":
a store's first queries), MLP with every product's reading kept ("warm": after a store's first
queries). Medians and ratios, same run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, load_fashion  # noqa: E402
from align_quality import make_queries  # noqa: E402
from bench_quality2 import HELDOUT_HEADS, ONNX, Q2, heldout_rows, use_heldout_heads  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.config import EncoderConfig, EngineConfig  # noqa: E402
from shoplens.engine import Engine  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=40)
    a = ap.parse_args(argv)
    products = load_fashion()
    rows = heldout_rows(products, 0)
    queries, _, _ = make_queries([product_attributes(products[i], FIELD_MAP) for i in rows], 0)
    texts = random.Random(1).sample(sorted(queries["en"].values()), a.queries * 3)
    cfg = EngineConfig(encoders=EncoderConfig(cache_dir=str(ONNX)))
    use_heldout_heads(HELDOUT_HEADS.resolve())
    plain = Engine.open(Q2 / "photo_only_store_heldout_heads", cfg)
    use_heldout_heads((Q2 / "heads_heldout_mlp").resolve())
    mlp = Engine.open(Q2 / "photo_only_store_heldout_heads_heads_heldout_mlp", cfg)
    assert plain.heads is not None and plain.heads.attribute_mlp is None
    assert mlp.heads is not None and mlp.heads.attribute_mlp is not None
    for e in (plain, mlp):
        e.search("warm up the encoders", k=10)
    warm = mlp.searcher._mlp_log_probs(np.arange(mlp.manifest.products))  # every product read once
    assert warm is not None
    kept = mlp.searcher._mlp_known.copy()
    times: dict[str, list[float]] = {"no MLP": [], "MLP, cold": [], "MLP, warm": []}
    for i in range(a.queries):
        order = list(times)
        random.Random(i).shuffle(order)
        for case, text in zip(order, texts[3 * i : 3 * i + 3]):
            e = plain if case == "no MLP" else mlp
            e.searcher.qenc._cache.clear()
            if e is mlp:
                e.searcher._mlp_known[:] = kept if case == "MLP, warm" else False
            t = time.perf_counter()
            e.search(text, k=10)
            times[case].append(time.perf_counter() - t)
    base = float(np.median(times["no MLP"]))
    for case, ts in times.items():
        med = float(np.median(ts))
        print(f"{case:10s} median {med * 1000:7.1f} ms  p90 {np.percentile(ts, 90) * 1000:7.1f} ms  {med / base:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""float32 vs int8 (sq8) vectors on the shared fashion catalog, in one run: quality, speed, memory.

Two stores over the same products and the same cached encoder features, differing only in
`[index] vector_codec` ("f32" / "sq8", re-scoring depth `rescore`). By default every field gets the
large index (`--exact-threshold 0`: HNSW, or IVF with `--large-index ivf`), the case where quantisation
can change what is found; at the default threshold (50,000) small stores are brute-force and sq8
re-scoring is exact by construction.

Per store: NDCG@10 of hybrid `engine.search(text)` on the attribute queries of bench_quality.py (a),
rank-1 of augmented product photos (b, full augmentation chain), p50/p99 of `engine.search(text)` on
distinct uncached real titles (styles_text_only.csv), faiss index bytes of all fields, and the RSS of
a fresh process that opened the store and ran 20 searches (anonymous memory and mapped files apart).

    nice .venv/bin/python benchmarks/bench_sq8.py --products 1000 --queries 150 --image-queries 200
    nice .venv/bin/python benchmarks/bench_sq8.py --products 1000 --latency-only   # then: both stores in
        # one process, queries interleaved (the per-store p50s above are measured one store after the
        # other, so load swings on a shared machine land on one codec only)
Writes benchmarks/out/bench_sq8_<N>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_1m  # noqa: E402
import bench_quality as BQ  # noqa: E402
import common as C  # noqa: E402


def config(codec: str, a: argparse.Namespace) -> Any:
    from shoplens.config import IndexConfig

    cfg = C.engine_config()
    return replace(
        cfg,
        index=IndexConfig(
            vector_codec=codec, exact_threshold=a.exact_threshold, large_index=a.large_index, rescore=a.rescore
        ),
    )


def rss_of_fresh_process(store: Path, codec: str, a: argparse.Namespace, texts: list[str]) -> dict[str, float]:
    code = (
        "import json,sys; sys.path.insert(0,'benchmarks'); import bench_sq8 as B, bench_1m as M, argparse\n"
        "from shoplens.engine import Engine\n"
        f"a = argparse.Namespace(**{vars(a)!r})\n"
        f"e = Engine.open({str(store)!r}, B.config({codec!r}, a))\n"
        f"for t in {texts!r}: e.search(text=t, k=10)\n"
        "print(json.dumps(M.rss()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def interleaved_latency(a: argparse.Namespace, n: int, texts: list[str]) -> dict[str, Any]:
    """Both stores open in one process, each distinct query text sent to both back to back (order
    alternating), so the load swings of the shared machine hit both codecs alike."""
    from shoplens.engine import Engine

    engines = {c: Engine.open(C.STORES / f"sq8bench_{n}_{c}", config(c, a)) for c in ("f32", "sq8")}
    for e in engines.values():
        e.warm_up()
        e.search(text="warm up", k=10)
    lat: dict[str, list[float]] = {c: [] for c in engines}
    for i, t in enumerate(texts):
        for c in ("f32", "sq8") if i % 2 == 0 else ("sq8", "f32"):
            t0 = time.perf_counter()
            engines[c].search(text=t, k=10)
            lat[c].append((time.perf_counter() - t0) * 1000)
    for e in engines.values():
        e.close()
    return {c: {"p50_ms": C.pct(v, 50), "p99_ms": C.pct(v, 99), "queries": len(v)} for c, v in lat.items()}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--image-queries", type=int, default=200)
    ap.add_argument("--latency-queries", type=int, default=100)
    ap.add_argument("--exact-threshold", type=int, default=0)
    ap.add_argument("--large-index", default="hnsw", choices=("hnsw", "ivf"))
    ap.add_argument("--rescore", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--latency-only", action="store_true", help="only the interleaved latency, on the stores a full run left"
    )
    a = ap.parse_args(argv)
    C.ensure_onnx()
    n = a.products if a.products and a.products < 7710 else None
    cat, rows = C.fashion_catalog(n, a.seed)
    rows = BQ.annotate(rows)
    queries = BQ.make_queries(rows, a.queries, a.seed)
    lat_texts = bench_1m.query_texts(rows, a.latency_queries + 21)
    result: dict[str, Any] = {"products": len(rows), "settings": vars(a)}
    name = f"bench_sq8_{len(rows)}"
    if a.latency_only:
        path = C.OUT / f"{name}.json"
        result = json.loads(path.read_text()) if path.exists() else result
        il = result["interleaved"] = interleaved_latency(a, len(rows), lat_texts[21:])
        print(
            C.md_table(
                ["codec", "p50 ms", "p99 ms", "p50 × f32"],
                [[c, il[c]["p50_ms"], il[c]["p99_ms"], il[c]["p50_ms"] / il["f32"]["p50_ms"]] for c in il],
            )
        )
        print(f"wrote {C.write_json(name, result)}")
        return result
    for codec in ("f32", "sq8"):
        store = C.STORES / f"sq8bench_{len(rows)}_{codec}"
        eng, build_s, info = C.open_or_build(cat, store, config(codec, a), rebuild=True, align=False, progress=False)
        eng.search(text="warm up", k=1)
        t = BQ.text_quality(eng, rows, queries, components=False, chinese=False, progress=False)
        im = BQ.image_quality(eng, rows, a.image_queries, a.seed, kinds=("all",), progress=False)
        lat = []
        for q in lat_texts[21:]:
            t0 = time.perf_counter()
            eng.search(text=q, k=10)
            lat.append((time.perf_counter() - t0) * 1000)
        fields = {
            k: {"kind": v.kind, "codec": v.codec, "bytes": v.index_bytes()} for k, v in eng.reader.vectors.items()
        }
        eng.close()
        result[codec] = {
            "build_s": build_s,
            "ndcg@10": t["hybrid"],
            "bm25_titles": t["bm25_titles"],
            "photo_rank1": im["per_augmentation"]["all"]["rank1"],
            "p50_ms": C.pct(lat, 50),
            "p99_ms": C.pct(lat, 99),
            "index_bytes": sum(f["bytes"] for f in fields.values()),
            "fields": fields,
            "rss_mib": rss_of_fresh_process(store, codec, a, lat_texts[:20]),
        }
        print(f"[{codec}] {json.dumps({k: v for k, v in result[codec].items() if k != 'fields'})}", file=sys.stderr)
    f, s = result["f32"], result["sq8"]
    kinds = sorted({v["kind"] for v in f["fields"].values()})
    print(f"\n### f32 vs sq8, {len(rows)} fashion products, index {'/'.join(kinds)}, rescore {a.rescore}\n")
    print(
        C.md_table(
            ["codec", "NDCG@10 (a)", "photo rank-1 (b)", "p50 ms", "p99 ms", "index MiB", "RSS MiB", "anon MiB"],
            [
                [c, r["ndcg@10"], r["photo_rank1"], r["p50_ms"], r["p99_ms"], r["index_bytes"] / 2**20]
                + [r["rss_mib"]["VmRSS"], r["rss_mib"]["RssAnon"]]
                for c, r in (("f32", f), ("sq8", s))
            ]
            + [
                [
                    "sq8 / f32",
                    s["ndcg@10"] / f["ndcg@10"],
                    s["photo_rank1"] / max(f["photo_rank1"], 1e-9),
                    s["p50_ms"] / f["p50_ms"],
                    s["p99_ms"] / f["p99_ms"],
                    s["index_bytes"] / f["index_bytes"],
                    s["rss_mib"]["VmRSS"] / f["rss_mib"]["VmRSS"],
                    s["rss_mib"]["RssAnon"] / f["rss_mib"]["RssAnon"],
                ]
            ],
        )
    )
    drop = 1 - s["ndcg@10"] / f["ndcg@10"]
    result["ndcg_drop"] = drop
    print(
        f"\n{len(queries)} text queries, {a.image_queries} photos; target sq8 NDCG@10 within 1% of f32: "
        f"{'PASS' if drop <= 0.01 else 'FAIL'} ({100 * drop:+.2f}% drop)"
    )
    print(f"wrote {C.write_json(name, result)}")
    return result


if __name__ == "__main__":
    C.show_logs()
    main()

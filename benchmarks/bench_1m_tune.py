"""Where a text query's milliseconds go on a large store, and which vector settings buy them back.

Opens a store that `bench_1m.py --keep` built (1M or 100k products, `text:e5` only) once, then sends
distinct uncached query texts (real titles from styles_text_only.csv not in the catalog) through
`Engine.search(text, k=10)`, rotating over settings variants query by query (each text is searched
once, by one variant, so the query-vector cache never helps; the rotation starts one later each
round so load swings hit every variant alike). A variant sets the `text:e5` index's IVF `nprobe`, its
sq8 re-scoring depth and faiss's OpenMP threads, the same knobs `[index] ivf_nprobe` / `rescore` set.

Per variant: p50/p99 end to end, p50 of every `timings_ms` component, and recall@10 of the index
(ANN alone, the same query vectors for every variant) against exact inner product over the float32
vectors. Also BM25 top-100 the previous way (hits counted, each hit's doc number from its stored
document) and the current `LexicalIndex.search` (not counted, the `doc` fast field), interleaved.

    nice -n 10 .venv/bin/python benchmarks/bench_1m_tune.py --products 1000000 --queries 240
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_1m as B  # noqa: E402
import common as C  # noqa: E402

OLD, NEW = "previous: counted, stored documents", "now: not counted, fast field"

VARIANTS = {  # name -> (nprobe, rescore, faiss threads, previous fusion + BM25 doc reads)
    "before: previous code, nprobe 32, rescore 400, 2 threads": (32, 400, 2, True),
    "nprobe 32, rescore 400, 2 threads": (32, 400, 2, False),
    "nprobe 32, rescore 400, 1 thread": (32, 400, 1, False),
    "nprobe 32, rescore 100, 1 thread": (32, 100, 1, False),
    "nprobe 24, rescore 200, 1 thread": (24, 200, 1, False),
    "nprobe 16, rescore 100, 1 thread": (16, 100, 1, False),
}
_NEW: dict[str, Any] = {}


def old_rrf(components: Any, weights: Any, k: int = 60, available: Any = None) -> Any:
    """The previous fusion's cost, reproduced: it converted every active component's whole
    availability mask to float64 before reading the candidates' entries; then today's fusion."""
    if available:
        for c in components:
            m = available.get(c.name)
            if m is not None and float(weights.get(c.name, 1.0)) > 0:
                np.asarray(m, np.float64)
    return _NEW["rrf"](components, weights, k, available)


def old_bm25(lexical: Any, text: str, n: int, allowed: Any, extra: Any = ()) -> Any:
    """The previous retrieve.bm25 (no filters in this benchmark): doc numbers from stored documents."""
    from shoplens.search.fuse import Ranked

    assert allowed is None
    docs, scores = bm25_stored_docs(lexical, text, n, extra)
    return Ranked("bm25", docs, scores)


def apply(index: Any, nprobe: int, rescore: int, threads: int, previous: bool) -> None:
    import faiss

    from shoplens.search import retrieve, searcher

    if not _NEW:
        _NEW.update(rrf=searcher.rrf, bm25=retrieve.bm25)
    searcher.rrf = old_rrf if previous else _NEW["rrf"]  # type: ignore[assignment]
    retrieve.bm25 = old_bm25 if previous else _NEW["bm25"]  # type: ignore[assignment]
    if hasattr(index.index, "nprobe"):
        index.index.nprobe = nprobe
    index.rescore = rescore
    faiss.omp_set_num_threads(threads)


def bm25_stored_docs(lexical: Any, text: str, k: int, extra: Any = ()) -> tuple[np.ndarray, np.ndarray]:
    """The previous LexicalIndex.search (unfiltered): each hit's doc number from its stored document."""
    import tantivy

    from shoplens.preprocess.text import tokenize

    toks = list(dict.fromkeys(tokenize(text, lexical.simplify) + list(extra)))
    if not toks:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    q = tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, tantivy.Query.term_query(lexical.schema, "tokens", t)) for t in toks]
    )
    res = lexical._searcher.search(q, k)
    scores = np.array([s for s, _ in res.hits], np.float32)
    return np.array([lexical._searcher.doc(a)["doc"][0] for _, a in res.hits], np.int64), scores


def main() -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--codec", default="sq8")
    ap.add_argument("--large-index", default="ivf")
    ap.add_argument("--queries", type=int, default=240, help="distinct texts, split over the variants")
    ap.add_argument("--recall-queries", type=int, default=100)
    ap.add_argument("--sigma", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store", type=Path, help="default: the store bench_1m.py --keep left")
    a = ap.parse_args()
    store = a.store or B.WORK / f"store_{a.products}_{a.large_index}_{a.codec}"
    # the engine as bench_1m opens it (only text:e5; index settings come from the variants)
    ns = argparse.Namespace(
        large_index=a.large_index,
        nlist=0,
        nprobe=32,
        hnsw_m=32,
        rescore=400,
        exact_threshold=50_000,
        milvus_index="IVF_SQ8",
        ef=128,
    )
    eng = B.open_backend_store(ns, a.codec, store)
    index = eng.reader.vectors["text:e5"]
    rows = B.base_rows()
    texts = B.query_texts(rows, a.queries + 1 + a.recall_queries)
    eng.search(text=texts[0] + " warm up", k=10)
    names = list(VARIANTS)
    lat: dict[str, list[float]] = {n: [] for n in names}
    comps: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    bm25_ms: dict[str, list[float]] = {OLD: [], NEW: []}
    lexical = eng.reader.lexical
    qtexts = texts[1 : 1 + a.queries]
    same_docs = 0
    for i, t in enumerate(qtexts):
        r, j = divmod(i, len(names))
        name = names[(j + r) % len(names)]
        apply(index, *VARIANTS[name])
        t0 = time.perf_counter()
        res = eng.search(text=t, k=10)
        lat[name].append((time.perf_counter() - t0) * 1000)
        for k, v in res.timings_ms.items():
            comps[name].setdefault(k, []).append(v)
        # BM25 doc numbers, both ways, order alternating (the index's caches are warm for this text now)
        got = {}
        for w in (OLD, NEW) if i % 2 == 0 else (NEW, OLD):
            t1 = time.perf_counter()
            got[w] = bm25_stored_docs(lexical, t, 100)[::-1] if w == OLD else lexical.search(t, 100)
            bm25_ms[w].append((time.perf_counter() - t1) * 1000)
        assert np.allclose(got[NEW][0], got[OLD][0]), t  # the same scores (tied docs may differ)
        same_docs += int(np.array_equal(got[NEW][1], got[OLD][1]))
    # recall@10 per variant on other texts, ANN only, against exact search over the float32 vectors
    exact = np.load(B.synthetic_vectors(B.base_vectors(rows), a.products, a.sigma, a.seed), mmap_mode="r")
    qv = eng.encoders.text["e5"].encode(texts[1 + a.queries :], mode="query")
    scores = np.empty((len(qv), len(exact)), np.float32)
    for s in range(0, len(exact), 200_000):
        scores[:, s : s + 200_000] = qv @ np.asarray(exact[s : s + 200_000]).T
    truth = [set(np.argpartition(-scores[i], 10)[:10].tolist()) for i in range(len(qv))]
    del scores
    out: dict[str, Any] = {"products": a.products, "store": str(store), "variants": {}}
    for name in names:
        apply(index, *VARIANTS[name])
        t0 = time.perf_counter()
        found = [index.search(q, 10)[1] for q in qv]
        ann = (time.perf_counter() - t0) * 1000 / len(qv)
        rec = float(np.mean([len(set(d.tolist()) & truth[i]) / 10 for i, d in enumerate(found)]))
        out["variants"][name] = {
            "queries": len(lat[name]),
            "p50_ms": C.pct(lat[name], 50),
            "p99_ms": C.pct(lat[name], 99),
            "components_p50_ms": {k: C.pct(v, 50) for k, v in sorted(comps[name].items())},
            "recall@10": rec,
            "ann_ms": ann,
        }
    out["bm25_top100_p50_ms"] = {w: C.pct(v, 50) for w, v in bm25_ms.items()}
    out["bm25_same_docs"] = f"{same_docs} of {len(qtexts)} queries"
    if hasattr(index.index, "quantizer"):  # the IVF coarse step alone: is an HNSW quantizer worth it?
        quant, cq = index.index.quantizer, []
        for q in qv:
            t0 = time.perf_counter()
            quant.search(q[None, :], 32)
            cq.append((time.perf_counter() - t0) * 1000)
        out["coarse_quantizer_p50_ms"] = {"nlist": int(index.index.nlist), "nprobe 32": C.pct(cq, 50)}
    import os

    out["load_average"] = os.getloadavg()[0]
    base = out["variants"][names[0]]["p50_ms"]
    table = []
    for name in names:
        v = out["variants"][name]
        table.append([name, v["queries"], v["p50_ms"], v["p99_ms"], v["p50_ms"] / base, v["recall@10"], v["ann_ms"]])
    print(
        f"\n### {a.products:,} products ({a.codec}), distinct uncached texts through Engine.search, "
        f"variants rotated query by query, load average {out['load_average']:.1f}\n"
    )
    print(C.md_table(["variant", "n", "p50 ms", "p99 ms", "p50 × before", "recall@10", "ANN ms/query"], table))
    comp_names = sorted({k for v in out["variants"].values() for k in v["components_p50_ms"]})
    print("\ncomponents, p50 ms:\n")
    print(
        C.md_table(
            ["variant", *comp_names],
            [[n, *[out["variants"][n]["components_p50_ms"].get(c, 0.0) for c in comp_names]] for n in names],
        )
    )
    print(f"\nBM25 top-100, p50 ms: {json.dumps(out['bm25_top100_p50_ms'])}; same docs: {out['bm25_same_docs']}")
    print(f"IVF coarse quantizer alone, p50 ms: {json.dumps(out.get('coarse_quantizer_p50_ms'))}")
    path = C.write_json(f"bench_1m_tune_{a.products}_{a.codec}", out)
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()

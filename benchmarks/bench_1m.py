"""1M-product benchmark of the embedded store: build time, RAM, query p50/p99 and recall@10, f32 vs sq8.

What the store holds (say it when quoting): the 7,710 real fashion products (catalog.csv: titles and
attributes), each repeated to reach N; copy c of product i has id "<id>-<c>", the title "<title> v<c>"
(so BM25 does not see exact duplicates) and the e5 vector normalise(v_i + sigma * g / sqrt(384)),
v_i = the real multilingual-e5-small passage encoding of product i's title, g ~ N(0, I) seeded
(sigma 0.3: a copy keeps cosine ~0.96 with its source, about as close as two real titles of one brand
and type). Only the fields text search needs at 1M are stored: products + attributes (SQLite), the
lexical index (tantivy) and `text:e5`; no `text:use`, no photo or aligned fields (no photos to encode).
The store is written by the real builder (`store.builder.write_generation`), searched by the real
`Engine.search` (text queries: bm25 + text_dense:e5 + attributes, fused).

Per codec, each phase runs in its own process so its memory is its own:
  build: write the generation (wall time, peak RSS);
  query: open the store, one warm-up query, then distinct uncached query texts (real titles from
         styles_text_only.csv that are not in the catalog) through Engine.search(text, k=10): p50/p99;
         RSS after the queries (VmRSS, split into anonymous memory and mapped files), faiss index bytes;
         recall@10 of the `text:e5` index against exact brute-force inner product over the float32 vectors.

    nice .venv/bin/python benchmarks/bench_1m.py --products 100000       # a quick point
    nice .venv/bin/python benchmarks/bench_1m.py --products 1000000      # the 1M table in the README

Milvus: `--codecs milvus --vectors milvus://HOST:PORT[/PREFIX] --milvus-data DIR` writes `text:e5` (with the
filterable attributes as scalar fields) into a running Milvus server through the real backend
(`MilvusBackend.write_field` + `finish`: insert, flush, index, load, row count) with `--milvus-index`
(IVF_SQ8 with --nlist/--nprobe, or HNSW with --hnsw-m/--ef); the server's memory (VmRSS of its process
tree, from DIR/service.json) counts. Start the server with scripts/milvus.sh start --data DIR --port N.
The query phase then also times filtered searches of the field: the filter as a Milvus expression over
the scalar fields vs as the allowed-id expression (`doc in [...]`), interleaved, same results checked.
IVF_SQ8 in Milvus is compared three ways (MILVUS_VARIANTS): exact re-scoring of the top `--rescore` from
the float32 vectors the search returns (the default), from the local float32 file the build also writes,
and no re-scoring: recall@10 and ANN latency at nprobe 16/32/64 (query phase), and end to end through
Engine.search interleaved with the other stores (latency phase: top-10 overlap with the first codec's).
Writes benchmarks/out/bench_1m_<N>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

WORK = C.OUT / "bench_1m"
DIM = 384


# ---------------------------------------------------------------------------- data


def base_rows() -> list[dict[str, str]]:
    return C.read_fashion_rows()


def base_vectors(rows: Sequence[dict[str, str]]) -> np.ndarray:
    """Real e5 passage vectors of the catalog titles (encoded once, cached beside the outputs)."""
    from shoplens.encoders import registry

    enc = registry.create("e5", threads=os.cpu_count() or 1, batch_size=32, cache_dir=C.ONNX_DIR)
    path = WORK / f"base_e5_{enc.fingerprint()[:12]}_{len(rows)}.npy"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        legacy = WORK / "base_e5.npy"  # an earlier run's encodings of the same titles by the same model
        if legacy.exists() and len(np.load(legacy, mmap_mode="r")) == len(rows):
            legacy.rename(path)
        else:
            print(f"encoding {len(rows)} titles with e5 ...", file=sys.stderr)
            np.save(path, enc.encode([r["productDisplayName"] for r in rows], mode="passage"))
    return np.load(path)


def synthetic_vectors(base: np.ndarray, n: int, sigma: float, seed: int) -> Path:
    """The N x 384 float32 matrix (row j = copy j // len(base) of product j % len(base)), written
    chunk by chunk into a .npy so neither the build nor the exact search holds it twice."""
    path = WORK / f"vectors_{n}_s{sigma}_{seed}.npy"
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, base.shape[1]))
    rng = np.random.default_rng(seed)
    step = 100_000
    for s in range(0, n, step):
        j = np.arange(s, min(n, s + step))
        v = base[j % len(base)] + sigma * rng.standard_normal((len(j), base.shape[1]), np.float32) / np.sqrt(
            base.shape[1]
        )
        v[j < len(base)] = base[j[j < len(base)]]  # copy 0 is the real product itself
        out[s : s + len(j)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    out.flush()
    del out
    tmp.rename(path)
    return path


def synthetic_products(rows: Sequence[dict[str, str]], n: int) -> list[Any]:
    from shoplens.records import Product

    out = []
    for j in range(n):
        r = rows[j % len(rows)]
        c = j // len(rows)
        out.append(
            Product(
                id=r["id"] if c == 0 else f"{r['id']}-{c}",
                title=r["productDisplayName"] if c == 0 else f"{r['productDisplayName']} v{c}",
                attributes={a: r[a] for a in C.ATTR_COLS if r.get(a)},
            )
        )
    return out


def query_texts(rows: Sequence[dict[str, str]], n: int) -> list[str]:
    """Distinct real product titles from styles_text_only.csv that are not catalog titles."""
    import csv

    seen = {r["productDisplayName"] for r in rows}
    out: list[str] = []
    with open(C.TEXT_ONLY, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            t = r["productDisplayName"]
            if t and t not in seen:
                seen.add(t)
                out.append(t)
                if len(out) == n:
                    break
    return out


# ---------------------------------------------------------------------------- phases (own processes)


def rss() -> dict[str, float]:
    """This process's memory now (MiB): resident, of which anonymous / file-backed; and the peak."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[k] = int(v.split()[0]) / 1024
    return out


def index_config(a: argparse.Namespace, codec: str, rescore_from: str = "milvus") -> Any:
    """`rescore_from`: where a Milvus IVF_SQ8 field re-scores from; the build writes the local float32
    file too ("local"), so the query phase can compare both sources on one store."""
    from shoplens.config import IndexConfig

    hnsw = a.milvus_index.upper() == "HNSW"
    return IndexConfig(
        milvus_rescore_from=rescore_from,
        vector_codec="f32" if codec == "milvus" else codec,
        vectors=a.vectors if codec == "milvus" else "embedded",
        milvus_index=a.milvus_index,
        milvus_index_params={"M": a.hnsw_m, "efConstruction": 80} if hnsw else {"nlist": a.nlist or 1024},
        milvus_search_params={"ef": a.ef} if hnsw else {"nprobe": a.nprobe},
        milvus_timeout_s=60.0,
        large_index=a.large_index,
        ivf_nlist=a.nlist,
        ivf_nprobe=a.nprobe,
        hnsw_m=a.hnsw_m,
        rescore=a.rescore,
        exact_threshold=a.exact_threshold,
    )


def engine_config(a: argparse.Namespace, codec: str, **index: Any) -> Any:
    """`index`: IndexConfig fields to change (a Milvus variant: rescore 0, milvus_rescore_from "local")."""
    from dataclasses import replace

    from shoplens.config import EncoderConfig, EngineConfig, QualityConfig

    return replace(
        EngineConfig(encoders=EncoderConfig(text=("e5",), image=(), cache_dir=C.ONNX_DIR)),
        index=replace(index_config(a, codec), **index),
        quality=QualityConfig(warm_up=False),
    )


# Milvus IVF_SQ8 variants (IndexConfig changes) compared on one store: re-scoring from the vectors the
# search returns (the default), from the local float32 file, and no re-scoring (Milvus's SQ8 scores).
MILVUS_VARIANTS: dict[str, dict[str, Any]] = {
    "milvus": {},
    "milvus:local": {"milvus_rescore_from": "local"},
    "milvus:no-rescore": {"rescore": 0},
}


def build_common(a: argparse.Namespace, store: Path) -> dict[str, Any]:
    """Products, attributes and the lexical index, written and published by the real builder
    (`write_generation`, with no vector field): the same for every codec, so built once."""
    from shoplens.features.extract import FeatureSet
    from shoplens.store.builder import write_generation

    rows = base_rows()
    t0 = time.perf_counter()
    products = synthetic_products(rows, a.products)
    fs = FeatureSet(products=products, has_text=np.ones(len(products), bool))
    t1 = time.perf_counter()
    write_generation(store, fs, [], None, None, ["bench_1m"], {}, index_config(a, "f32"))
    return {
        "records_s": t1 - t0,
        "write_s": time.perf_counter() - t1,
        "maxrss_mib": rss()["VmHWM"],  # peak resident memory of this phase's process
    }


def build_store(a: argparse.Namespace, codec: str, store: Path) -> dict[str, Any]:
    """The `text:e5` field of a copy of the common generation, built and saved as the builder does
    (`FaissIndex.build` + `save` + the manifest's FieldInfo). A Milvus backend's build would branch
    here on `a.vectors`."""
    from shoplens.encoders import registry
    from shoplens.store.layout import current_generation
    from shoplens.store.manifest import FieldInfo, Manifest
    from shoplens.store.vectors import FaissIndex, exact_path

    cfg = index_config(a, codec)
    vecs = np.load(synthetic_vectors(base_vectors(base_rows()), a.products, a.sigma, a.seed), mmap_mode="r")
    gen = current_generation(store)
    assert gen is not None
    if codec == "milvus":
        return build_milvus(a, cfg, store, gen, vecs)
    t0 = time.perf_counter()
    idx = FaissIndex.build(
        vecs,
        np.arange(len(vecs)),
        len(vecs),
        cfg.exact_threshold,
        cfg.hnsw_m,
        cfg.hnsw_ef_search,
        codec=codec,
        large_index=cfg.large_index,
        ivf_nlist=cfg.ivf_nlist,
        nprobe=cfg.ivf_nprobe,
        rescore=cfg.rescore,
    )
    rel = "vectors/text__e5.faiss"
    idx.save(gen / rel)
    build_s = time.perf_counter() - t0
    m = Manifest.load(gen)
    enc = registry.create("e5", threads=1, batch_size=1, cache_dir=C.ONNX_DIR)
    m.encoders = {"e5": {"modality": "text", "dim": enc.dim, "fingerprint": enc.fingerprint()}}
    m.fields["text:e5"] = FieldInfo(
        name="text:e5",
        dim=DIM,
        rows=len(vecs),
        index=idx.kind,
        source="encoder:e5",
        file=rel,
        codec=idx.codec,
        exact_file=str(exact_path(Path(rel))) if idx.codec == "sq8" else None,
    )
    m.save(gen)
    return {
        "index_build_s": build_s,
        "kind": idx.kind,
        "nlist": int(getattr(idx.index, "nlist", 0)),
        "maxrss_mib": rss()["VmHWM"],  # peak resident memory of this phase's process
    }


def server_rss(a: argparse.Namespace) -> dict[str, float]:
    """VmRSS (MiB) of the Milvus server's process tree, from the service record in its data dir."""
    if not a.milvus_data:
        return {}
    pid = int(json.loads((Path(a.milvus_data) / "service.json").read_text())["milvus_pid"])
    pids, total = [pid], 0.0
    while pids:
        p = pids.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            for t in Path(f"/proc/{p}/task").iterdir():
                kids = (t / "children").read_text().split()
                pids += [int(k) for k in kids]
        except OSError:
            continue
    return {"VmRSS": total}


def build_milvus(a: argparse.Namespace, cfg: Any, store: Path, gen: Path, vecs: np.ndarray) -> dict[str, Any]:
    """`text:e5` into Milvus through the store's real backend, as the builder would write it."""
    from shoplens.encoders import registry
    from shoplens.store.backends import backend_for_build
    from shoplens.store.manifest import FieldInfo, Manifest

    before = server_rss(a)
    cfg = index_config(a, "milvus", rescore_from="local")  # also the float32 file, for the "local" variant
    backend = backend_for_build(store, cfg)
    t0 = time.perf_counter()
    where = backend.write_field(gen, gen.name, "text:e5", vecs, np.arange(len(vecs)), len(vecs))
    t1 = time.perf_counter()
    backend.finish()
    t2 = time.perf_counter()
    m = Manifest.load(gen)
    enc = registry.create("e5", threads=1, batch_size=1, cache_dir=C.ONNX_DIR)
    m.encoders = {"e5": {"modality": "text", "dim": enc.dim, "fingerprint": enc.fingerprint()}}
    m.fields["text:e5"] = FieldInfo(name="text:e5", dim=DIM, rows=len(vecs), source="encoder:e5", **where)
    m.vectors = backend.describe()
    m.save(gen)
    backend.close()
    return {
        "index_build_s": t2 - t0,
        "insert_s": t1 - t0,
        "insert_rows_per_s": len(vecs) / (t1 - t0),
        "flush_index_load_s": t2 - t1,
        "kind": where["index"],
        "nlist": int(cfg.milvus_index_params.get("nlist", 0)),
        "maxrss_mib": rss()["VmHWM"],
        "server_rss_before_mib": before,
        "server_rss_after_mib": server_rss(a),
    }


FILTERS = [{"gender": "Men"}, {"gender": "Women"}, {"baseColour": "Black"}, {"masterCategory": "Footwear"}]


def filtered_searches(eng: Any, index: Any, qv: np.ndarray) -> dict[str, Any]:
    """The same filtered ANN searches with the filter as a scalar expression and as an id expression."""
    ms: dict[str, list[float]] = {"scalar expression": [], "id expression": []}
    same = []
    for i, q in enumerate(qv):
        f = FILTERS[i % len(FILTERS)]
        mask = eng.reader.products.filter_mask(f)
        got = {}
        ways = [("scalar expression", mask), ("id expression", np.asarray(mask, dtype=bool).copy())]
        for name, m in ways if i % 2 == 0 else ways[::-1]:
            t0 = time.perf_counter()
            got[name] = index.search(q, 100, m)[1]
            ms[name].append((time.perf_counter() - t0) * 1000)
        a, b = got["scalar expression"], got["id expression"]
        same.append(len(set(a[:10].tolist()) & set(b[:10].tolist())) / max(1, min(10, len(b))))
        assert mask[a].all(), f"a hit outside the filter {f}"
    return {
        "filters": FILTERS,
        "queries": len(qv),
        **{f"{k} p50_ms": C.pct(v, 50) for k, v in ms.items()},
        **{f"{k} p99_ms": C.pct(v, 99) for k, v in ms.items()},
        "top10 overlap scalar vs id": float(np.mean(same)),
    }


def open_backend_store(a: argparse.Namespace, codec: str, store: Path) -> Any:
    """The engine over the built store (faiss files or Milvus: whatever its manifest records)."""
    from shoplens.engine import Engine

    return Engine.open(store, engine_config(a, codec))


def query_store(a: argparse.Namespace, codec: str, store: Path) -> dict[str, Any]:
    before = rss()
    eng = open_backend_store(a, codec, store)
    opened = rss()
    rows = base_rows()
    texts = query_texts(rows, a.queries + 1)
    eng.search(text=texts[0] + " warm up", k=10)  # model loads are not query latency
    enc = eng.encoders.text["e5"]
    # the floor: one bare e5 query encoding of the same text by the engine's own model, timed
    # beside each search (floor first on even queries, search first on odd ones); the search
    # cannot reuse it (its query-vector cache is the searcher's, not the encoder's)
    lat, floor, comps = [], [], {}
    for i, t in enumerate(texts[1:]):
        for step in ("floor", "search") if i % 2 == 0 else ("search", "floor"):
            t0 = time.perf_counter()
            if step == "floor":
                enc.encode([t], mode="query")
                floor.append((time.perf_counter() - t0) * 1000)
                continue
            res = eng.search(text=t, k=10)
            lat.append((time.perf_counter() - t0) * 1000)
            for k, v in res.timings_ms.items():
                comps.setdefault(k, []).append(v)
    after = rss()
    # recall@10 of the text:e5 index against exact inner product over the same float32 vectors
    index = eng.reader.vectors["text:e5"]
    exact = np.load(synthetic_vectors(base_vectors(rows), a.products, a.sigma, a.seed), mmap_mode="r")
    qv = enc.encode(texts[1 : 1 + a.recall_queries], mode="query")
    recalls, ann_ms = [], []
    scores = np.empty((len(qv), len(exact)), np.float32)
    for s in range(0, len(exact), 200_000):
        scores[:, s : s + 200_000] = qv @ np.asarray(exact[s : s + 200_000]).T
    for i, q in enumerate(qv):
        truth = np.argpartition(-scores[i], 10)[:10]
        t0 = time.perf_counter()
        _, docs = index.search(q, 10)
        ann_ms.append((time.perf_counter() - t0) * 1000)
        recalls.append(len(set(docs.tolist()) & set(truth.tolist())) / 10)
    sweep = {}  # the same recall at other IVF probe counts (ANN only), to choose nprobe by
    if index.kind == "ivf":
        for p in (8, 16, 32, 64, 128):
            index.index.nprobe = p
            t0 = time.perf_counter()
            found = [index.search(q, 10)[1] for q in qv]
            ms = (time.perf_counter() - t0) * 1000 / len(qv)
            rec = [
                len(set(d.tolist()) & set(np.argpartition(-scores[i], 10)[:10].tolist())) / 10
                for i, d in enumerate(found)
            ]
            sweep[p] = {"recall@10": float(np.mean(rec)), "ann_ms": ms}
        index.index.nprobe = a.nprobe
    milvus = milvus_variants(a, eng, qv, scores) if codec == "milvus" else {}
    return {
        "milvus_variants": milvus,
        "nprobe_sweep": sweep,
        "queries": len(lat),
        "p50_ms": C.pct(lat, 50),
        "p99_ms": C.pct(lat, 99),
        "mean_ms": float(np.mean(lat)),
        "floor_p50_ms": C.pct(floor, 50),
        "p50_over_floor": C.pct(lat, 50) / C.pct(floor, 50),
        "paired_over_floor": float(np.median(np.asarray(lat) / np.asarray(floor))),
        "components_p50_ms": {k: C.pct(v, 50) for k, v in sorted(comps.items())},
        "recall@10": float(np.mean(recalls)),
        "recall_queries": len(recalls),
        "ann_p50_ms": C.pct(ann_ms, 50),
        "index_bytes": index.index_bytes() if hasattr(index, "index_bytes") else 0,
        "rss_before_open_mib": before,
        "rss_opened_mib": opened,
        "rss_after_queries_mib": after,
        "server_rss_after_queries_mib": server_rss(a) if codec == "milvus" else {},
        "filtered": filtered_searches(eng, index, qv[:16]) if codec == "milvus" else {},
    }


def milvus_field(a: argparse.Namespace, eng: Any, **index: Any) -> Any:
    """The engine's Milvus `text:e5` field opened again with other IndexConfig settings (same connection)."""
    from dataclasses import replace

    from shoplens.store.backends import backend_for_manifest

    cfg = replace(eng.config.index, **index)
    backend = backend_for_manifest(eng.reader.manifest.vectors, cfg, "bench")
    backend.conn = eng.reader.vectors["text:e5"].conn
    return backend.open_field(eng.reader.gen, eng.reader.manifest.fields["text:e5"], eng.reader.manifest.products)


def milvus_variants(a: argparse.Namespace, eng: Any, qv: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """recall@10 vs exact and ANN-only latency (`MilvusIndex.search`, top 10) of the IVF_SQ8 field: without
    re-scoring, re-scoring from the vectors Milvus returns, from the local float32 file; at several nprobe.
    Variants interleaved query by query; the server's VmRSS after each nprobe's round."""
    truth = [set(np.argpartition(-scores[i], 10)[:10].tolist()) for i in range(len(qv))]
    out: dict[str, Any] = {"server_rss_before_mib": server_rss(a)}
    for p in (16, 32, 64):
        fields = {
            name: milvus_field(a, eng, milvus_search_params={"nprobe": p}, **change)
            for name, change in MILVUS_VARIANTS.items()
        }
        ms: dict[str, list[float]] = {n: [] for n in fields}
        rec: dict[str, list[float]] = {n: [] for n in fields}
        same = []
        order = list(fields)
        for i, q in enumerate(qv):
            got = {}
            for n in order if i % 2 == 0 else order[::-1]:
                t0 = time.perf_counter()
                got[n] = fields[n].search(q, 10)
                ms[n].append((time.perf_counter() - t0) * 1000)
                rec[n].append(len(set(got[n][1].tolist()) & truth[i]) / 10)
            a_s, a_d = got["milvus"]
            b_s, b_d = got["milvus:local"]
            same.append(a_d.tolist() == b_d.tolist() and bool(np.allclose(a_s, b_s, atol=1e-6)))
        out[f"nprobe {p}"] = {
            **{
                n: {"recall@10": float(np.mean(rec[n])), "ann_p50_ms": C.pct(ms[n], 50), "ann_p99_ms": C.pct(ms[n], 99)}
                for n in fields
            },
            "milvus == local (docs and scores)": float(np.mean(same)),
            "server_rss_mib": server_rss(a),
        }
    return out


def interleaved_latency(a: argparse.Namespace, stores: dict[str, Path]) -> dict[str, Any]:
    """Every codec's store open in one process, each query text sent to all of them back to back
    (order alternating), so load swings on the shared machine hit every codec alike. A Milvus store is
    opened once per variant (MILVUS_VARIANTS; engines sharing one set of loaded models, each with its own
    query cache, so every variant encodes every query)."""
    from shoplens.config_file import load_settings
    from shoplens.engine import Engine

    engines = {c: open_backend_store(a, c, p) for c, p in stores.items()}
    if "milvus" in engines:
        base = engines["milvus"]
        for name, change in MILVUS_VARIANTS.items():
            if name != "milvus":
                cfg = engine_config(a, "milvus", **change)
                engines[name] = Engine(
                    stores["milvus"], encoders=base.encoders, settings=load_settings(stores["milvus"], engine=cfg)
                )
    texts = query_texts(base_rows(), a.queries + 1)
    for e in engines.values():
        e.search(text=texts[0] + " warm up", k=10)
    lat: dict[str, list[float]] = {c: [] for c in engines}
    order = list(engines)
    ref = order[0]  # top-10 overlap of every store's Engine.search with the first codec's (embedded)
    overlap: dict[str, list[float]] = {c: [] for c in engines}
    for i, t in enumerate(texts[1:]):
        ids = {}
        for c in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            ids[c] = engines[c].search(text=t, k=10).ids
            lat[c].append((time.perf_counter() - t0) * 1000)
        for c in engines:
            overlap[c].append(len(set(ids[c]) & set(ids[ref])) / max(1, len(ids[ref])))
    out: dict[str, Any] = {
        c: {
            "p50_ms": C.pct(v, 50),
            "p99_ms": C.pct(v, 99),
            "queries": len(v),
            f"top10 overlap with {ref}": float(np.mean(overlap[c])),
        }
        for c, v in lat.items()
    }
    out["client_rss_mib"] = rss()
    out["server_rss_mib"] = server_rss(a)
    return out


# ---------------------------------------------------------------------------- driver


def run_phase(a: argparse.Namespace, phase: str, codec: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, *a.argv, "--phase", phase, "--codec-only", codec]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--codecs", default="f32,sq8")
    ap.add_argument("--queries", type=int, default=300, help="distinct uncached query texts per codec")
    ap.add_argument("--recall-queries", type=int, default=100)
    ap.add_argument("--large-index", default="ivf", choices=("hnsw", "ivf"))
    ap.add_argument("--nlist", type=int, default=0, help="IVF cells (0: 4·sqrt(N))")
    ap.add_argument("--nprobe", type=int, default=32)
    ap.add_argument("--hnsw-m", type=int, default=32)
    ap.add_argument("--rescore", type=int, default=400)
    ap.add_argument("--exact-threshold", type=int, default=50_000)
    ap.add_argument("--sigma", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vectors", default="faiss", help="milvus://HOST:PORT[/PREFIX] for --codecs milvus")
    ap.add_argument("--milvus-data", help="the Milvus server's data dir (its service.json names the process)")
    ap.add_argument("--milvus-index", default="IVF_SQ8", choices=("IVF_SQ8", "IVF_FLAT", "HNSW"))
    ap.add_argument("--ef", type=int, default=128, help="Milvus HNSW search ef")
    ap.add_argument("--keep", action="store_true", help="keep the built stores (benchmarks/out/bench_1m/)")
    ap.add_argument("--resume", action="store_true", help="reuse the stores an interrupted run finished")
    ap.add_argument("--phase", choices=("common", "build", "query", "latency"), help=argparse.SUPPRESS)
    ap.add_argument("--codec-only", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if ("milvus" in a.codecs.split(",")) != a.vectors.startswith("milvus://"):
        raise SystemExit("--codecs milvus and --vectors milvus://HOST:PORT go together")
    tag = f"{a.products}_{a.large_index}"
    if a.phase:
        if a.phase == "common":
            res = build_common(a, WORK / f"store_{tag}_common")
        elif a.phase == "latency":
            res = interleaved_latency(a, {c: WORK / f"store_{tag}_{c}" for c in a.codecs.split(",")})
        else:
            store = WORK / f"store_{tag}_{a.codec_only}"
            res = build_store(a, a.codec_only, store) if a.phase == "build" else query_store(a, a.codec_only, store)
        print(json.dumps(res))
        return res
    a.argv = [x for x in argv]
    rows = base_rows()
    synthetic_vectors(base_vectors(rows), a.products, a.sigma, a.seed)  # once, before the timed builds
    result: dict[str, Any] = {"products": a.products, "settings": {k: v for k, v in vars(a).items() if k != "argv"}}
    import shutil

    common = WORK / f"store_{tag}_common"
    done = WORK / f"store_{tag}_built.json"  # phases finished by an interrupted run (--resume)
    built = json.loads(done.read_text()) if a.resume and done.exists() else {}
    if "common" not in built:
        if common.exists():
            shutil.rmtree(common)
        print("products + lexical ...", file=sys.stderr)
        built["common"] = run_phase(a, "common", "f32")
        done.write_text(json.dumps(built))
    result["common"] = built["common"]
    print(f"products + lexical {result['common']['write_s']:.0f} s", file=sys.stderr)
    for codec in a.codecs.split(","):
        store = WORK / f"store_{tag}_{codec}"
        if codec in built and store.exists():
            b = built[codec]
        else:
            if store.exists():
                shutil.rmtree(store)
            shutil.copytree(common, store, copy_function=os.link, symlinks=True)  # manifest.save replaces
            print(f"[{codec}] vectors ...", file=sys.stderr)
            b = built[codec] = run_phase(a, "build", codec)
            done.write_text(json.dumps(built))
        print(f"[{codec}] {b['index_build_s']:.0f} s, peak RSS {b['maxrss_mib']:.0f} MiB; queries ...", file=sys.stderr)
        q = run_phase(a, "query", codec)
        print(f"[{codec}] p50 {q['p50_ms']:.1f} ms, recall@10 {q['recall@10']:.3f}", file=sys.stderr)
        result[codec] = {"build": b, "query": q}
    print("interleaved latency ...", file=sys.stderr)
    result["interleaved"] = run_phase(a, "latency", "")
    if not a.keep:
        for c in [*a.codecs.split(","), "common"]:
            shutil.rmtree(WORK / f"store_{tag}_{c}")
        done.unlink(missing_ok=True)
    codecs = [c for c in a.codecs.split(",") if c in result]
    table = []
    for c in codecs:
        b, q = result[c]["build"], result[c]["query"]
        table.append(
            [
                f"{c} ({b['kind']}" + (f", nlist {b['nlist']}, nprobe {a.nprobe})" if b["nlist"] else ")"),
                b["index_build_s"],
                b["maxrss_mib"],
                q["rss_after_queries_mib"]["VmRSS"],
                q["rss_after_queries_mib"]["RssAnon"],
                q["index_bytes"] / 2**20,
                result["interleaved"][c]["p50_ms"],
                result["interleaved"][c]["p99_ms"],
                result["interleaved"][c]["p50_ms"] / result["interleaved"][codecs[0]]["p50_ms"],
                q["p50_ms"],
                q["floor_p50_ms"],
                f"{q['p50_over_floor']:.2f} ({q['paired_over_floor']:.2f})",
                q["recall@10"],
            ]
        )
    cm = result["common"]
    print(
        f"\nproducts + attributes + lexical index (same for every codec): {cm['write_s']:.0f} s write "
        f"(+{cm['records_s']:.0f} s making the records), peak RSS {cm['maxrss_mib']:.0f} MiB"
    )
    print(
        f"\n### {a.products:,} products, {a.queries} distinct uncached text queries through Engine.search "
        f"(p50/p99: codecs interleaved in one process; 'alone': the codec's own process), "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print(
        C.md_table(
            [
                "store",
                "index build s",
                "index build peak RSS MiB",
                "query RSS MiB",
                "of it anonymous MiB",
                "index MiB",
                "p50 ms",
                "p99 ms",
                f"p50 × {codecs[0]}",
                "p50 ms alone",
                "bare e5 encoding p50 ms (same process)",
                "alone ÷ e5 (paired)",
                "recall@10 vs exact",
            ],
            table,
        )
    )
    for c in codecs:
        print(f"{c} components p50 ms: {result[c]['query']['components_p50_ms']}")
        for p, v in result[c]["query"]["nprobe_sweep"].items():
            print(f"  {c} nprobe {p}: recall@10 {v['recall@10']:.3f}, ANN search {v['ann_ms']:.1f} ms/query")
    path = C.write_json(f"bench_1m_{tag}", result)
    inter = result["interleaved"]
    extra = [c for c in inter if c not in codecs and isinstance(inter[c], dict) and "p50_ms" in inter[c]]
    for c in codecs + extra:
        v = inter[c]
        ov = next(x for k, x in v.items() if k.startswith("top10 overlap"))
        print(
            f"interleaved {c}: p50 {v['p50_ms']:.1f} ms, p99 {v['p99_ms']:.1f} ms, "
            f"top-10 overlap with {codecs[0]} {ov:.3f}"
        )
    print(
        f"interleaved process VmRSS {inter['client_rss_mib'].get('VmRSS', 0):.0f} MiB, server {inter['server_rss_mib']}"
    )
    for c in codecs:
        for p, v in result[c]["query"].get("milvus_variants", {}).items():
            if not p.startswith("nprobe"):
                continue
            for n, x in v.items():
                if isinstance(x, dict) and "recall@10" in x:
                    print(f"  {p} {n}: recall@10 {x['recall@10']:.3f}, ANN p50 {x['ann_p50_ms']:.1f} ms")
            print(f"  {p}: milvus == local {v['milvus == local (docs and scores)']:.2f}, server {v['server_rss_mib']}")
    print(f"\nwrote {path}")
    return result


if __name__ == "__main__":
    main()

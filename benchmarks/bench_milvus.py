"""Embedded (faiss) vs Milvus vectors, through Engine.search: overlap@10, query latency, build time.

* One catalog of N real fashion products (seeded sample, photos included) is indexed embedded; a copy
  of that store's feature cache is indexed into a local Milvus standalone server (started here on a
  free port with its data under benchmarks/out/milvus, stopped at the end). Build time is the write
  from cached features (no encoding) for both: the embedded store is re-built from its cache in the
  same run, so the two figures compare like with like.
* Queries: distinct English texts (catalog titles, shortened, plus attribute words), catalog photos,
  and filtered texts (gender / colour filters). Every query text is new to both engines (uncached);
  the engines are queried alternately per query, after warm-up.
* overlap@10 = |top10 embedded ∩ top10 Milvus| / 10, averaged; chance level is 10/N.

Rerun:
    nice .venv/bin/python benchmarks/bench_milvus.py --products 2000 --queries 150 --photos 50
Writes benchmarks/out/bench_milvus.json.
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

SERVICE = [sys.executable, str(C.REPO / "scripts" / "milvus_service.py")]
WORDS = ("men", "women", "black", "blue", "white", "casual", "red", "sports", "summer", "cotton")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service(cmd: str, data: Path, port: int) -> None:
    p = subprocess.run([*SERVICE, cmd, "--data", str(data), "--port", str(port)], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"milvus {cmd} failed: {p.stdout}{p.stderr}")


def make_queries(rows: list[dict[str, str]], n: int, seed: int = 0) -> list[str]:
    """n distinct texts: a title's first words plus an attribute word, so none repeats."""
    rng, out, seen = random.Random(seed), [], set()
    while len(out) < n:
        r = rng.choice(rows)
        words = r["productDisplayName"].split()
        q = " ".join(words[: rng.randint(2, min(4, len(words)))] + [rng.choice(WORDS)]).lower()
        if q not in seen:
            seen.add(q)
            out.append(q)
    return out


def timed(engine, **q) -> tuple[list[str], float]:
    t = time.perf_counter()
    res = engine.search(k=10, **q)
    return [h.id for h in res.hits], (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=150, help="text queries (and as many filtered ones / 3)")
    ap.add_argument("--photos", type=int, default=50)
    ap.add_argument("--index", default="HNSW", help="Milvus index type (HNSW, IVF_FLAT, IVF_SQ8, FLAT)")
    a = ap.parse_args()

    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    C.ensure_onnx()
    cfg = C.engine_config()
    catalog, rows = C.fashion_catalog(a.products)
    emb = C.STORES / f"milvus_bench_emb_{a.products}"
    engine, t_first, info = C.open_or_build(catalog, emb, cfg, align=False)
    engine.close()
    print(f"embedded store: {emb} ({'reused' if info.get('reused') else f'built in {t_first:.0f} s'})")

    data, port = C.OUT / "milvus", free_port()
    shutil.rmtree(data, ignore_errors=True)
    service("start", data, port)
    try:
        mv = C.STORES / f"milvus_bench_mv_{a.products}"
        shutil.rmtree(mv, ignore_errors=True)
        (mv / "cache").mkdir(parents=True)
        shutil.copy(emb / "cache" / "features.sqlite", mv / "cache" / "features.sqlite")
        build = BuildConfig(auto_align=False, progress=False, rebuild=True)
        t = time.perf_counter()
        Engine.build(catalog, emb, cfg, build)
        t_emb = time.perf_counter() - t
        t = time.perf_counter()
        over = {"index.vectors": f"milvus://127.0.0.1:{port}/bench", "index.milvus_index": a.index}
        Engine.build(catalog, mv, cfg, build, overrides=over)
        t_mv = time.perf_counter() - t
        print(f"build from cached features: embedded {t_emb:.1f} s, Milvus {t_mv:.1f} s")

        e1, e2 = Engine.open(emb, cfg), Engine.open(mv, cfg)
        for e in (e1, e2):
            e.warm_up()
            e.search(text="warm up query", k=10)
        texts = make_queries(rows, a.queries + a.queries // 3)
        plain, filt = texts[: a.queries], texts[a.queries :]
        photos = [str(C.FASHION / r["image"]) for r in random.Random(1).sample(rows, a.photos)]
        filters = [{"gender": "Men"}, {"gender": "Women"}, {"baseColour": "Black"}, {"baseColour": "Blue"}]
        kinds: dict[str, list[dict]] = {
            "text": [{"text": q} for q in plain],
            "photo": [{"image": p} for p in photos],
            "filtered text": [{"text": q, "filters": filters[i % len(filters)]} for i, q in enumerate(filt)],
        }
        result, table = {}, []
        for kind, qs in kinds.items():
            lat: dict[str, list[float]] = {"embedded": [], "milvus": []}
            overlaps = []
            for i, q in enumerate(qs):
                order = [("embedded", e1), ("milvus", e2)][:: 1 if i % 2 == 0 else -1]
                got = {}
                for name, e in order:
                    got[name], ms = timed(e, **q)
                    lat[name].append(ms)
                if got["embedded"]:
                    overlaps.append(len(set(got["embedded"]) & set(got["milvus"])) / len(got["embedded"]))
            row = {
                "queries": len(qs),
                "overlap@10": sum(overlaps) / max(1, len(overlaps)),
                **{f"{n} p50 ms": C.pct(v, 50) for n, v in lat.items()},
                **{f"{n} p99 ms": C.pct(v, 99) for n, v in lat.items()},
            }
            row["p50 ratio milvus/embedded"] = row["milvus p50 ms"] / row["embedded p50 ms"]
            result[kind] = row
            table.append(
                [
                    kind,
                    len(qs),
                    row["overlap@10"],
                    row["embedded p50 ms"],
                    row["milvus p50 ms"],
                    row["p50 ratio milvus/embedded"],
                    row["embedded p99 ms"],
                    row["milvus p99 ms"],
                ]
            )
        e1.close()
        e2.close()
    finally:
        service("stop", data, port)
    print(f"\n{a.products} products, Milvus {a.index}, chance overlap {10 / a.products:.3f}")
    print(
        C.md_table(
            ["queries", "n", "overlap@10", "emb p50 ms", "Milvus p50 ms", "p50 ratio", "emb p99 ms", "Milvus p99 ms"],
            table,
        )
    )
    print(f"build (cached features): embedded {t_emb:.1f} s, Milvus {t_mv:.1f} s, ratio {t_mv / t_emb:.2f}")
    path = C.write_json(
        "bench_milvus",
        {
            "products": a.products,
            "milvus_index": a.index,
            "results": result,
            "build_s": {"embedded": t_emb, "milvus": t_mv, "ratio": t_mv / t_emb},
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

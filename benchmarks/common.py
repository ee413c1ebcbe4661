"""Shared helpers for the bench_* scripts and tests/integration/test_quality.py.

Paths, subset catalogs of the shared fashion data, a robust `build_store`
(auto-alignment is tried, and skipped when the align module is not wired up),
graded relevance for attribute queries, NDCG (through shoplens.evaluate), the
reference Okapi BM25 (bm25s), percentiles, markdown tables and JSON output.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA") or REPO.parent / "shared" / "data")
FASHION = DATA / "fashion"
CATALOG = FASHION / "catalog.csv"
TEXT_ONLY = FASHION / "styles_text_only.csv"
OUT = REPO / "benchmarks" / "out"
ONNX_DIR = OUT / "onnx"  # pre-exported ONNX files shared by every benchmark
STORES = OUT / "stores"
CATALOGS = OUT / "catalogs"
ATTR_COLS = ("gender", "masterCategory", "subCategory", "baseColour", "season", "usage")


# ---------------------------------------------------------------------------- config / engine


def engine_config(threads: int | None = None, onnx_dir: Path = ONNX_DIR):
    from shoplens.config import EncoderConfig, EngineConfig

    kw = {"cache_dir": Path(onnx_dir)}
    if threads:
        kw["threads"] = threads
    return EngineConfig(encoders=EncoderConfig(**kw))


def ensure_onnx(onnx_dir: Path = ONNX_DIR) -> dict[str, str]:
    """Export (once) every configured ONNX image encoder into `onnx_dir`, so builds exclude export time."""
    from shoplens.config import EncoderConfig
    from shoplens.encoders import registry

    out = {}
    for name in EncoderConfig().image:
        enc = registry.create(name, threads=1, batch_size=1, cache_dir=Path(onnx_dir))
        if hasattr(enc, "ensure_onnx"):
            out[name] = str(enc.ensure_onnx())
    return out


def build_store(
    catalog: Path | str,
    store: Path | str,
    config=None,
    *,
    fresh: bool = True,
    align: bool = True,
    progress: bool = False,
):
    """Engine.build with auto-alignment when the align module supports it, else without.

    Returns (engine, seconds, info) where info says whether alignment was used."""
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    store = Path(store)
    if fresh and store.exists():
        shutil.rmtree(store)
    config = config or engine_config()
    info: dict[str, Any] = {"auto_align": align}
    t0 = time.perf_counter()
    try:
        eng = Engine.build(catalog, store, config, BuildConfig(auto_align=align, progress=progress))
    except (ImportError, TypeError, ValueError, AttributeError) as e:
        if not align:
            raise
        # The alignment stage is being rewritten elsewhere; the feature cache keeps every
        # encoded vector, so the retry without it only re-does the cheap write.
        info = {"auto_align": False, "align_error": f"{type(e).__name__}: {e}"}
        eng = Engine.build(catalog, store, config, BuildConfig(auto_align=False, progress=progress, rebuild=True))
    return eng, time.perf_counter() - t0, info


def seed_sources() -> list[Path]:
    """Feature caches earlier benchmark runs left behind (any store under benchmarks/out, the align cache)."""
    return sorted(p for p in OUT.rglob("features.sqlite") if p.is_file() and "indexing_tmp" not in str(p))


def seed_cache(store: Path, sources: Sequence[Path] | None = None) -> int:
    """Copy cached encoder features into a new store's feature cache, so a benchmark store is not
    re-encoded from scratch (only for quality/latency stores; bench_indexing always starts cold)."""
    import sqlite3

    dst = Path(store) / "cache" / "features.sqlite"
    dst.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(f"file:{dst}", uri=True)  # uri=True: ATTACH below opens sources read-only
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS feats (fp TEXT, key TEXT, vec BLOB, PRIMARY KEY (fp, key))")
    for src in sources if sources is not None else seed_sources():
        if Path(src).resolve() == dst.resolve():
            continue
        try:
            db.execute("ATTACH DATABASE ? AS src", (f"file:{src}?mode=ro",))
        except sqlite3.Error as e:  # vanished or unreadable: seeding is best-effort
            print(f"seed_cache: skipped {src}: {e}", file=sys.stderr)
            continue
        try:
            db.execute("INSERT OR IGNORE INTO feats SELECT fp, key, vec FROM src.feats")
            db.commit()
        except sqlite3.Error as e:
            print(f"seed_cache: skipped {src}: {e}", file=sys.stderr)
        db.execute("DETACH DATABASE src")
    n = db.execute("SELECT COUNT(*) FROM feats").fetchone()[0]
    db.close()
    return n


def open_or_build(
    catalog: Path,
    store: Path,
    config=None,
    *,
    rebuild: bool = False,
    align: bool = True,
    progress: bool = True,
    seed: bool = True,
):
    """Reuse a built store when its manifest exists (and rebuild is off), else build it
    (its feature cache first seeded from earlier runs' caches unless seed=False)."""
    from shoplens.engine import Engine
    from shoplens.store.layout import current_generation

    config = config or engine_config()
    if not rebuild and store.is_dir():
        try:
            if current_generation(store) is not None:
                return Engine.open(store, config), 0.0, {"reused": True}
        except Exception:  # noqa: BLE001 - unreadable: rebuild
            pass
    if store.exists():
        shutil.rmtree(store)
    seeded = seed_cache(store) if seed else 0
    eng, dt, info = build_store(catalog, store, config, fresh=False, align=align, progress=progress)
    return eng, dt, {**info, "seeded_cache_rows": seeded}


# ---------------------------------------------------------------------------- data


def read_fashion_rows(limit: int | None = None, path: Path = CATALOG) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = []
        for r in csv.DictReader(f):
            rows.append(r)
            if limit and len(rows) >= limit:
                break
    return rows


def subset_rows(rows: list[dict[str, str]], n: int | None, seed: int = 0, spread: bool = True) -> list[dict[str, str]]:
    """n rows: a seeded random sample (spread=True, so small subsets still cover many types) or the first n."""
    if not n or n >= len(rows):
        return rows
    if not spread:
        return rows[:n]
    idx = np.sort(np.random.default_rng(seed).choice(len(rows), n, replace=False))
    return [rows[i] for i in idx]


def write_catalog(rows: list[dict[str, str]], path: Path, base: Path = FASHION) -> Path:
    """Write a fashion catalog CSV with absolute image paths (so it can live anywhere)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0].keys())
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            r = dict(r)
            if r.get("image"):
                r["image"] = str((base / r["image"]).resolve())
            w.writerow(r)
    return path


def fashion_catalog(n: int | None, seed: int = 0, name: str | None = None) -> tuple[Path, list[dict[str, str]]]:
    rows = subset_rows(read_fashion_rows(), n, seed)
    if not n or n >= 7710:
        return CATALOG, rows
    return write_catalog(rows, CATALOGS / (name or f"fashion_{len(rows)}_s{seed}.csv")), rows


# ---------------------------------------------------------------------------- relevance


def lexicon_type(title: str | None) -> str | None:
    from shoplens.preprocess.lexicon import product_type

    return product_type(title)


def grade(query_attrs: dict[str, str], row: dict[str, str]) -> int:
    """2 = same type+gender+colour, 1 = same type+gender, else 0 (type from the title via the lexicon)."""
    if lexicon_type(row.get("productDisplayName")) != query_attrs["type"]:
        return 0
    if row.get("gender") != query_attrs["gender"]:
        return 0
    return 2 if row.get("baseColour") == query_attrs["colour"] else 1


def mean_ndcg(
    runs: dict[str, list[str]], qrels: dict[str, dict[str, int]], k: int = 10
) -> tuple[float, dict[str, float], str]:
    """Mean NDCG@k over queries with shoplens.evaluate (trec_eval-exact, parity-tested against
    pytrec_eval): the README's ratios rest on tested code, not on a copy kept here.

    Runs are ranked id lists; they are turned into descending scores so trec_eval's
    re-sort keeps the engine's order."""
    from shoplens.evaluate.metrics import evaluate

    run = {q: {d: float(len(ids) - i) for i, d in enumerate(ids)} for q, ids in runs.items()}
    ev = evaluate(run, qrels, [f"ndcg@{k}"], progress=False)
    per_q = {q: v[f"ndcg@{k}"] for q, v in ev.per_query.items()}
    return ev.metrics[f"ndcg@{k}"], per_q, "shoplens.evaluate.metrics"


_WORD = re.compile(r"[a-z0-9]+")


def word_tokens(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())


class OkapiBM25:
    """The reference: Okapi BM25 from bm25s (independent of shoplens's own tantivy BM25) over
    lower-cased word tokens, with Lucene's idf ln(1 + (N - df + 0.5)/(df + 0.5)) and k1=1.2, b=0.75
    (bm25s method "lucene"; its scores leave out the constant factor k1 + 1, which changes no ranking).
    Query words count once; ties rank by catalog order."""

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75):
        import bm25s

        self.k1, self.b, self.n = k1, b, len(docs)
        self.index = bm25s.BM25(k1=k1, b=b, method="lucene", dtype="float64")
        self.index.index([word_tokens(d) for d in docs], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        ids = self.index.get_tokens_ids(list(dict.fromkeys(word_tokens(query))))
        if not ids:
            return np.zeros(self.n, np.float64)
        return np.asarray(self.index.get_scores_from_ids(ids), np.float64)

    def top(self, query: str, k: int = 10) -> list[int]:
        s = self.scores(query)
        nz = np.flatnonzero(s > 0)
        order = nz[np.lexsort((nz, -s[nz]))]  # score desc, ties by doc order
        return order[:k].tolist()


def show_logs(level: int = logging.INFO) -> None:
    """Benchmarks are programs: show the library's progress and warnings (the `shoplens` logs) on stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("shoplens").setLevel(level)


# ---------------------------------------------------------------------------- output


def pct(values: Iterable[float], q: float) -> float:
    v = np.asarray(list(values), np.float64)
    return float(np.percentile(v, q)) if len(v) else float("nan")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(x):
        if isinstance(x, float):
            if math.isnan(x):
                return "—"
            return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"
        return str(x)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": load,
        "machine": platform.machine(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def write_json(name: str, payload: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    payload = {
        "benchmark": name,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "env": environment(),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    return path

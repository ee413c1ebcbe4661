"""A store survives `kill -9` anywhere in a build, readers never see half a store, a re-run resumes,
and deleted products leave every index.

Crashes are real: `shoplens index` runs as a process with `SHOPLENS_FAULT_AT=<step>`, which makes it
SIGKILL itself at that step of writing or publishing a generation (shoplens/store/layout.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from shoplens.engine import Engine
from shoplens.store.layout import FAULT_ENV, PUBLISH_STEPS, WRITE_STEPS, current_generation
from shoplens.store.lexical import LexicalIndex
from shoplens.store.manifest import Manifest
from shoplens.store.products import ProductTable
from shoplens.store.vectors import FaissIndex

from ..conftest import FASHION, fashion_rows, write_catalog

BIN = [sys.executable, "-m", "shoplens"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
# Rows of the session's small store (its first 240): their features are in its cache, which the stores
# here start from, so a build pays no encoding (nor model load) unless a test asks for it.
BASE = fashion_rows(16, offset=40)


def index(store: Path, *catalogs: Path, fault: str | None = None, extra: tuple[str, ...] = ()):
    env = {**ENV, FAULT_ENV: fault} if fault else {k: v for k, v in ENV.items() if k != FAULT_ENV}
    cmd = [*BIN, "index", *map(str, catalogs), "--store", str(store), "--no-align", "--quiet", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)


def new_store(tmp_path: Path, onnx_cache: Path, features_from: Path | None = None) -> Path:
    """A store whose ONNX exports are copied from the session's (exporting is the slow part), and with
    `features_from`, a copy of that store's feature and photo-text caches: what the steps under test
    write and publish is the same, without encoding what the session already encoded."""
    store = tmp_path / "store"
    if features_from is not None:
        shutil.copytree(features_from / "cache", store / "cache", ignore=shutil.ignore_patterns("onnx"))
    shutil.copytree(onnx_cache, store / "cache" / "onnx")
    return store


def live_ids(store: Path) -> set[str]:
    """Ids in the live generation, after checking that generation is complete."""
    gen = current_generation(store)
    m = Manifest.load(gen)  # a half-written generation has no (or a broken) manifest
    table = ProductTable(gen / "products.sqlite")
    try:
        ids = set(table.ids)
    finally:
        table.close()
    assert len(ids) == m.products
    for name, info in m.fields.items():
        idx = FaissIndex.load(gen / info.file, m.products)
        assert len(idx) == info.rows and (idx.docs < m.products).all(), name
    assert LexicalIndex.load(gen / "lexical")._searcher.num_docs == m.products
    return ids


@pytest.fixture(scope="module")
def shared_encoders(small_engine):
    return small_engine.encoders  # loaded once; a reader reopens the store with them


def test_kill_at_every_step_of_write_and_publish_leaves_a_store_that_opens(
    tmp_path, onnx_cache, engine_config, shared_encoders, small_store
):
    store = new_store(tmp_path, onnx_cache, small_store)
    first = write_catalog(tmp_path / "c0.csv", BASE)
    assert index(store, first).returncode == 0
    expected = {r["id"] for r in BASE}
    assert live_ids(store) == expected
    extra_rows = fashion_rows(3 * 8, offset=120)  # also in the small store: cached
    for i, step in enumerate(WRITE_STEPS + PUBLISH_STEPS):
        rows = BASE + extra_rows[: 3 * (i + 1)]  # each build adds 3 products, so every generation differs
        cat = write_catalog(tmp_path / f"c{i + 1}.csv", rows)
        before = (store / "CURRENT").read_text()
        p = index(store, cat, fault=step)
        assert p.returncode == -signal.SIGKILL, (step, p.returncode, p.stderr[-2000:])
        new = {r["id"] for r in rows}
        # CURRENT moves only once the new generation is complete: before that the old one is live
        want = new if step in ("after-current", "during-cleanup") else expected
        assert live_ids(store) == want, step
        assert ((store / "CURRENT").read_text() != before) == (want == new), step
        engine = Engine(store, engine_config, shared_encoders)
        res = engine.search("shirt", k=50)
        assert res.hits and {h.id for h in res.hits} <= want, step
        engine.close()
        expected = want
    # a clean re-run finishes the job: latest catalog live, no half-written or half-deleted generation left
    p = index(store, cat)
    assert p.returncode == 0, p.stderr[-2000:]
    assert live_ids(store) == {r["id"] for r in rows}
    gens = sorted(store.glob("gen-*"))
    assert all((g / "manifest.json").is_file() and not g.name.endswith(".tmp") for g in gens), gens
    assert len(gens) <= 2  # older generations cleaned up (keep=2), including the one cleanup was killed in


def test_reader_polling_during_publishes_never_sees_an_error_or_half_a_store(
    tmp_path, onnx_cache, engine_config, shared_encoders, small_store
):
    store = new_store(tmp_path, onnx_cache, small_store)
    sizes = (10, 14, 12, 16)
    cats = [write_catalog(tmp_path / f"r{n}.csv", BASE[:n]) for n in sizes]
    assert index(store, cats[0]).returncode == 0
    assert index(store, cats[1]).returncode == 0  # warm the feature cache: later builds only write and publish
    valid = {n: {r["id"] for r in BASE[:n]} for n in sizes}
    errors: list[str] = []

    def build_again():
        for cat in [cats[2], cats[3], cats[0], cats[1]]:
            p = index(store, cat, extra=("--delete-missing",))
            if p.returncode != 0:
                errors.append(f"build failed: {p.stderr[-500:]}")

    builder = threading.Thread(target=build_again)
    builder.start()
    seen_gens, reads = set(), 0
    while builder.is_alive():
        try:
            engine = Engine(store, engine_config, shared_encoders)
            res = engine.search("shirt", k=20)
            ids = {h.id for h in res.hits}
            n = engine.manifest.products
            if n not in valid or not ids or not ids <= valid[n] or len(engine.reader.products) != n:
                errors.append(f"{engine.manifest.generation}: {n} products, hits {sorted(ids)}")
            seen_gens.add(engine.manifest.generation)
            engine.close()
            reads += 1
        except Exception as e:  # noqa: BLE001  (any exception is what this test looks for)
            errors.append(f"{type(e).__name__}: {e}")
    builder.join()
    assert not errors, errors[:5]
    assert len(seen_gens) >= 3, (seen_gens, reads)  # the reader really ran across several publishes


def _cache_rows(cache: Path) -> dict[tuple[str, str], bytes]:
    db = sqlite3.connect(cache)
    try:
        return {(fp, k): v for fp, k, v in db.execute("SELECT fp, key, vec FROM feats")}
    finally:
        db.close()


def test_killed_encoding_resumes_without_re_encoding_finished_batches(tmp_path, onnx_cache, engine_config):
    """Kill the build while it encodes photos; mark every cached vector; the re-run must keep the marked
    ones (served from the cache) and add exactly the missing ones."""
    store = new_store(tmp_path, onnx_cache)
    small = write_catalog(tmp_path / "a.csv", fashion_rows(20, offset=300))
    assert index(store, small).returncode == 0
    gen = (store / "CURRENT").read_text()
    big_rows = fashion_rows(160, offset=300)
    big = write_catalog(tmp_path / "b.csv", big_rows)
    cache = store / "cache" / "features.sqlite"
    start = len(_cache_rows(cache))
    proc = subprocess.Popen(
        [*BIN, "index", str(big), "--store", str(store), "--no-align", "--quiet", "--batch-size", "16"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            n = sqlite3.connect(cache).execute("SELECT COUNT(*) FROM feats").fetchone()[0]
        except sqlite3.Error:
            continue
        if n >= start + 140 * 2 + 3 * 32:  # new texts (e5 + use) done and a few photo batches
            break
    assert proc.poll() is None, "the build finished before it could be killed; use more products"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (store / "CURRENT").read_text() == gen
    assert live_ids(store) == {r["id"] for r in big_rows[:20]}
    done = _cache_rows(cache)
    assert len(done) > start + 140 * 2
    marked = {}
    db = sqlite3.connect(cache)
    for (fp, key), blob in done.items():
        v = np.frombuffer(blob, np.float32).copy()
        v[0] = 12345.0  # a value no encoder produces: survives only if the re-run does not re-encode it
        marked[(fp, key)] = v.tobytes()
        db.execute("UPDATE feats SET vec=? WHERE fp=? AND key=?", (marked[(fp, key)], fp, key))
    db.commit()
    db.close()
    p = index(store, big)
    assert p.returncode == 0, p.stderr[-2000:]
    after = _cache_rows(cache)
    re_encoded = [k for k, v in marked.items() if after[k] != v]
    assert re_encoded == []
    assert len(set(after) - set(done)) > 0  # what the kill interrupted was encoded by the re-run
    ids = live_ids(store)
    assert ids == {r["id"] for r in big_rows}


def test_deleted_products_are_gone_from_every_index(tmp_path, onnx_cache, engine_config, shared_encoders, small_store):
    store = new_store(tmp_path, onnx_cache, small_store)
    rows = [dict(r) for r in BASE[:12]]
    rows[3]["productDisplayName"] = "Quokkapattern Striped Scarf"
    gone_id, gone_img = rows[3]["id"], FASHION / rows[3]["image"]
    assert index(store, write_catalog(tmp_path / "all.csv", rows)).returncode == 0
    engine = Engine(store, engine_config, shared_encoders)
    assert engine.search("quokkapattern", k=3).hits[0].id == gone_id  # found while it exists
    engine.close()
    keep = rows[:3] + rows[4:]
    p = index(store, write_catalog(tmp_path / "keep.csv", keep), extra=("--delete-missing",))
    assert p.returncode == 0, p.stderr
    assert live_ids(store) == {r["id"] for r in keep}
    gen = current_generation(store)
    m = Manifest.load(gen)
    table = ProductTable(gen / "products.sqlite")
    assert table.doc_of(gone_id) is None and gone_id not in table.ids
    assert not any("quokkapattern" in (p.title or "").lower() for p in table.all_products())
    table.close()
    lex = LexicalIndex.load(gen / "lexical")
    assert len(lex.search("quokkapattern", 10)[1]) == 0
    for name, info in m.fields.items():  # every vector index holds exactly the kept products' rows
        assert FaissIndex.load(gen / info.file, m.products).docs.max() < m.products == len(keep), name
    engine = Engine(store, engine_config, shared_encoders)
    assert gone_id not in engine.search("quokkapattern striped scarf", k=20).ids
    assert gone_id not in engine.search(image=str(gone_img), k=20).ids
    info = json.loads(
        subprocess.run(
            [*BIN, "info", "--store", str(store), "--json"], capture_output=True, text=True, check=True
        ).stdout
    )["manifest"]
    assert info["ingest"]["deleted"] == 1 and info["products"] == len(keep)

"""Vectors in a real Milvus server: the same catalog indexed embedded and into Milvus gives the same
results; upserts and deletes reach Milvus; generations stay atomic; a restart loses nothing.

One Milvus standalone server (the `milvus` package, started by scripts/milvus_service.py on a free
loopback port with its data in a tmp dir) serves the whole module and is stopped after it; the
restart test stops and starts it on the same data dir, last.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shoplens.config import BuildConfig, IndexConfig
from shoplens.engine import Engine
from shoplens.errors import StoreError
from shoplens.store.backends import backend_for_build
from shoplens.store.layout import FAULT_ENV, current_generation
from shoplens.store.manifest import Manifest

from ..conftest import FASHION, ROOT, fashion_rows, write_catalog
from ..modality_data import REVIEW_TOPICS, distractor_reviews, topic_reviews

SERVICE = [sys.executable, str(ROOT / "scripts" / "milvus_service.py")]
TEXT = [
    "women white tshirt",
    "blue jeans for men",
    "black leather shoes",
    "red dress",
    "analog watch",
    "sports shoes men",
    "handbag",
    "girls top",
    "sunglasses",
    "casual shirt check",
]
FILTERS = [("shirt", {"gender": "Men"}), ("shoes", {"gender": "Women"}), ("bag", {"baseColour": "Black"})]
# Chance level: a random top 10 out of 240 products shares 10/240 = 0.04 of another top 10.
MIN_OVERLAP = 0.9
FAST = {"index.milvus_timeout_s": 1.0, "index.milvus_retries": 2}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _service(cmd: str, data: Path, port: int) -> None:
    p = subprocess.run(
        [*SERVICE, cmd, "--data", str(data), "--port", str(port)], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, f"milvus {cmd}: {p.stdout}{p.stderr}"


@pytest.fixture(scope="module")
def milvus(tmp_path_factory):
    """(uri for --vectors, data dir, port) of a real Milvus standalone server, stopped after the module."""
    data, port = tmp_path_factory.mktemp("milvus"), _free_port()
    _service("start", data, port)
    try:
        yield f"milvus://127.0.0.1:{port}/t", data, port
    finally:
        _service("stop", data, port)


@pytest.fixture(scope="module")
def mv_store(milvus, small_store, small_catalog, engine_config, onnx_cache, tmp_path_factory):
    """small_store's catalog indexed into Milvus (features from a copy of its cache: no encoding)."""
    store = tmp_path_factory.mktemp("mv") / "s"
    shutil.copytree(small_store / "cache", store / "cache")
    shutil.copytree(onnx_cache, store / "cache" / "onnx", dirs_exist_ok=True)
    Engine.build(
        small_catalog,
        store,
        engine_config,
        BuildConfig(progress=False, auto_align=False, rebuild=True),
        overrides={"index.vectors": milvus[0]},
    )
    return store


def _ids(engine: Engine, **q) -> list[str]:
    return [h.id for h in engine.search(k=10, rerank=False, **q).hits]


def _overlap(a: list[str], b: list[str]) -> float:
    return len(set(a) & set(b)) / max(1, len(a))


def test_manifest_records_milvus_and_search_needs_nothing_else(mv_store, milvus):
    m = Manifest.load(current_generation(mv_store))
    assert m.vectors["backend"] == "milvus" and m.vectors["uri"] == "http://" + milvus[0][9:].split("/")[0]
    assert m.vectors["index"]["type"] == "HNSW" and set(m.fields) >= {"text:e5", "image"}
    assert all(info.index == "milvus:HNSW" for info in m.fields.values())
    p = subprocess.run(
        [sys.executable, "-m", "shoplens", "search", "white tshirt", "--store", str(mv_store), "--json", "--k", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["results"]) == 5


def test_same_results_as_embedded(mv_store, small_engine, engine_config):
    with Engine.open(mv_store, engine_config) as mv:
        text = [_overlap(_ids(small_engine, text=q), _ids(mv, text=q)) for q in TEXT]
        photos = [str(FASHION / r["image"]) for r in fashion_rows(240)[::40]]
        photo = [_overlap(_ids(small_engine, image=p), _ids(mv, image=p)) for p in photos]
        filt = []
        for q, f in FILTERS:
            a, b = _ids(small_engine, text=q, filters=f), _ids(mv, text=q, filters=f)
            assert a, f"{q} {f}: no hits at all"
            filt.append(_overlap(a, b))
        # every hit honours the filter (Milvus gets the same allowed-docs mask as embedded)
        by_id = {r["id"]: r for r in fashion_rows(240)}
        for q, f in FILTERS:
            for h in mv.search(text=q, k=10, filters=f, rerank=False).hits:
                assert all(by_id[h.id][k].lower() == v.lower() for k, v in f.items()), (q, f, h.id)
    means = {n: sum(v) / len(v) for n, v in (("text", text), ("photo", photo), ("filtered", filt))}
    assert all(m >= MIN_OVERLAP for m in means.values()), means


def test_upsert_and_delete_reach_milvus(mv_store, milvus, engine_config, tmp_path):
    from pymilvus import MilvusClient

    rows = fashion_rows(240)
    changed = {**rows[3], "productDisplayName": "Zorblax Quasar Lamp"}
    kept = [changed, *rows[4:200]]  # rows 0-2 and 200-239 deleted, row 3 renamed
    cat = write_catalog(tmp_path / "upsert.csv", kept)
    old_gen = current_generation(mv_store)
    old = Manifest.load(old_gen)
    Engine.build(cat, mv_store, engine_config, BuildConfig(progress=False, auto_align=False, delete_missing=True))
    m = Manifest.load(current_generation(mv_store))
    assert m.vectors["backend"] == "milvus", "an upsert without --vectors keeps the store's backend"
    assert m.products == len(kept)
    client = MilvusClient(uri=m.vectors["uri"])
    try:
        for info in m.fields.values():
            n = client.query(info.file, filter="", output_fields=["count(*)"], consistency_level="Strong")
            assert n[0]["count(*)"] == info.rows
        with Engine.open(mv_store, engine_config) as e:
            ids = {h.id for q in TEXT for h in e.search(text=q, k=50, rerank=False).hits}
            assert not ids & {r["id"] for r in rows[:3] + rows[200:]}
            assert e.search(text="zorblax quasar lamp", k=1, rerank=False).hits[0].id == changed["id"]
        # the previous generation stays readable (keep_generations=2) ...
        assert all(client.has_collection(i.file) for i in old.fields.values())
        # ... until the next publish drops it with its collections
        Engine.build(cat, mv_store, engine_config, BuildConfig(progress=False, auto_align=False))
        assert not any(client.has_collection(i.file) for i in old.fields.values())
    finally:
        client.close()


def test_interrupted_milvus_build_leaves_old_generation_searchable(mv_store, engine_config, tmp_path):
    before = current_generation(mv_store)
    with Engine.open(mv_store, engine_config) as e:
        want = _ids(e, text="white tshirt")
    cat = write_catalog(tmp_path / "c.csv", fashion_rows(180))
    env = {**os.environ, FAULT_ENV: "after-vectors"}
    p = subprocess.run(
        [sys.executable, "-m", "shoplens", "index", str(cat), "--store", str(mv_store), "--no-align", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert p.returncode == -9, p.stderr  # killed after writing its Milvus collections
    assert current_generation(mv_store) == before
    with Engine.open(mv_store, engine_config) as e:
        assert _ids(e, text="white tshirt") == want


def test_filters_reach_milvus_as_scalar_expressions_with_the_id_expressions_results(mv_store, engine_config):
    with Engine.open(mv_store, engine_config) as mv:
        assert {"gender", "baseColour"} <= set(mv.manifest.vectors["scalars"]["fields"])
        index = mv.reader.vectors["text:e5"]
        q = mv.encoders.text["e5"].encode(["casual shirt"], mode="query")[0]
        for _, f in [*FILTERS, ("", {"gender": ["Men", "Women"], "baseColour": "Black"})]:
            mask = mv.reader.products.filter_mask(f)
            expr = index._filter(mask)
            assert expr and "doc" not in expr, expr  # the attributes, not a list of ids
            by_scalars = index.search(q, 20, mask)[1]
            by_ids = index.search(q, 20, np.asarray(mask, dtype=bool).copy())[1]  # a plain mask: ids
            assert len(by_ids) and by_scalars.tolist() == by_ids.tolist(), f


def test_ivf_sq8_rescores_exactly_like_the_embedded_sq8_store(milvus, small_engine, tmp_path):
    """Milvus IVF_SQ8 ranks by 8-bit vectors; with re-scoring (the default, rescore 200) its top 10 is the
    exact top 10, docs and float32 scores, as the embedded sq8 store's is, whether the float vectors come
    back with the search or from the local file; without, near-ties come out in SQ8's order."""
    from shoplens.store.backends.milvus import MilvusBackend
    from shoplens.store.manifest import FieldInfo
    from shoplens.store.vectors import FaissIndex

    # the small store's real e5 vectors, each with 7 near-copies (cosine ~0.9998): near-tied top 10s;
    # 1,920 rows, enough for Milvus to build the index (it scans segments under 1,024 rows exactly)
    base = small_engine.reader.vectors["text:e5"].vectors_of(np.arange(240))[1]
    rng = np.random.default_rng(0)
    v = np.repeat(base, 8, axis=0) + 0.02 * rng.standard_normal((240 * 8, base.shape[1])).astype(np.float32) / 20
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    docs = np.arange(len(v))
    # nprobe = nlist: IVF misses nothing, so every difference from exact is SQ8's
    cfg = IndexConfig(
        milvus_index="IVF_SQ8",
        milvus_index_params={"nlist": 16},
        milvus_search_params={"nprobe": 16},
        milvus_rescore_from="local",
        milvus_timeout_s=30.0,
    )
    uri, prefix = "http://" + milvus[0][9:].split("/")[0], f"t_sq8_{os.getpid()}"
    gen = tmp_path / "gen-000001"
    (gen / "vectors").mkdir(parents=True)
    writer = MilvusBackend(uri, prefix, cfg)
    try:
        where = writer.write_field(gen, gen.name, "text:e5", v, docs, len(v), products=False)
        writer.finish()
        assert where["exact_file"] and (gen / where["exact_file"]).is_file()
        info = FieldInfo(name="text:e5", dim=v.shape[1], rows=len(v), source="test", **where)
        fields = {
            name: MilvusBackend(uri, prefix, dataclasses.replace(cfg, **change), {"type": "IVF_SQ8"}).open_field(
                gen, info, len(v), False
            )
            for name, change in {
                "from milvus": {"milvus_rescore_from": "milvus"},
                "from local": {},
                "off": {"rescore": 0},
            }.items()
        }
        assert fields["from milvus"].exact is None and fields["from local"].exact is not None
        embedded = FaissIndex.build(
            v, docs, len(v), 0, codec="sq8", large_index="ivf", ivf_nlist=16, nprobe=16, rescore=200
        )
        queries = small_engine.encoders.text["e5"].encode(TEXT, mode="query")
        off_differs = 0
        for q in queries:
            exact = v @ q
            want = np.argsort(-exact, kind="stable")[:10]
            emb_s, emb_d = embedded.search(q, 10)
            assert emb_d.tolist() == want.tolist()
            for name in ("from milvus", "from local"):
                s, d = fields[name].search(q, 10)
                assert d.tolist() == want.tolist(), name  # the embedded store's top 10, in its order
                np.testing.assert_allclose(s, emb_s, atol=1e-5, err_msg=name)
            s, d = fields["off"].search(q, 10)
            assert len(set(d.tolist()) & set(want.tolist())) >= 5  # the right neighbourhood (chance 10/1920) ...
            off_differs += d.tolist() != want.tolist() or not np.allclose(s, exact[d], atol=1e-5)
        assert off_differs == len(queries)  # ... but SQ8's approximate scores (and order) in every query
        # vectors_of reads the local file, and equals what Milvus returns
        some = np.array([5, 700, 1919, 3])
        a, b = fields["from local"].vectors_of(some), fields["from milvus"].vectors_of(some)
        assert a[0].all() and b[0].all() and np.array_equal(a[1], v[some]) and np.array_equal(b[1], v[some])
        for f in fields.values():
            f.conn.close()
    finally:
        writer.retire(tmp_path / "no-store")  # drops this prefix's collections (no generation refers to them)
        writer.close()


def test_review_vectors_live_in_milvus_and_go_with_their_generation(milvus, engine_config, tmp_path):
    from pymilvus import MilvusClient

    from shoplens.store.backends.milvus import review_collections

    rows = fashion_rows(30)
    extra = distractor_reviews(30)
    catalog = [
        {"id": r["id"], "title": r["productDisplayName"], "gender": r["gender"], "reviews": [extra.pop()]} for r in rows
    ]
    catalog += [{"id": t.split()[1], "title": t, "reviews": topic_reviews(w)} for w, t in REVIEW_TOPICS.items()]
    cat = tmp_path / "c.jsonl"
    cat.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in catalog) + "\n", encoding="utf-8")
    build = BuildConfig(progress=False, auto_align=False)
    # e5 only (reviews are e5's): no second text model to load, one collection less per build
    engine_config = dataclasses.replace(
        engine_config, encoders=dataclasses.replace(engine_config.encoders, text=("e5",), image=())
    )
    Engine.build(cat, tmp_path / "emb", engine_config, build).close()
    shutil.copytree(tmp_path / "emb" / "cache", tmp_path / "mv" / "cache")  # encoded once
    Engine.build(cat, tmp_path / "mv", engine_config, build, overrides={"index.vectors": milvus[0]}).close()
    gen = current_generation(tmp_path / "mv")
    assert not (gen / "reviews" / "vectors.faiss").exists()
    (coll,) = review_collections(gen)
    n_reviews = len(np.load(gen / "reviews" / "rows.npy"))
    client = MilvusClient(uri=Manifest.load(gen).vectors["uri"])
    try:
        got = client.query(coll, filter="", output_fields=["count(*)"], consistency_level="Strong")
        assert got[0]["count(*)"] == n_reviews
        with Engine.open(tmp_path / "emb", engine_config) as emb, Engine.open(tmp_path / "mv", engine_config) as mv:
            for word, title in REVIEW_TOPICS.items():
                a, b = emb.search(word, k=5, rerank=False), mv.search(word, k=5, rerank=False)
                assert b.ids[0] == a.ids[0] == title.split()[1]  # chance 1/32
                assert b.hits[0].snippet == a.hits[0].snippet and word in (b.hits[0].snippet or "")
        # when its generation is gone (as publish drops it beyond keep_generations), retiring drops it too
        backend = backend_for_build(tmp_path / "mv", IndexConfig())
        gen.rename(tmp_path / "mv" / "dropped")
        assert coll in backend.retire(tmp_path / "mv") and not client.has_collection(coll)
        backend.close()
    finally:
        client.close()


def test_restart_loses_nothing_and_outage_gives_clear_error(mv_store, milvus, engine_config):
    uri, data, port = milvus
    with Engine.open(mv_store, engine_config, overrides=FAST) as e:
        want = {q: _ids(e, text=q) for q in TEXT[:4]}
        photo = str(FASHION / fashion_rows(1, offset=10)[0]["image"])
        want_photo = _ids(e, image=photo)
        _service("stop", data, port)
        t0 = time.monotonic()
        with pytest.raises(StoreError, match=f"127.0.0.1:{port}.*milvus.sh start"):
            e.search(text="white tshirt", k=10, rerank=False)
        assert time.monotonic() - t0 < 30
        _service("start", data, port)
        # back: the server answers at once but re-loads its collections first (searches time out, each
        # a StoreError), then the same engine, never re-opened, finds everything again
        t0 = time.monotonic()
        while True:
            try:
                e.search(text="white tshirt", k=10, rerank=False)
                break
            except StoreError:
                assert time.monotonic() - t0 < 180, "search did not come back within 3 minutes of the restart"
        got = {q: _ids(e, text=q) for q in TEXT[:4]}
        assert got == want
        assert _ids(e, image=photo) == want_photo

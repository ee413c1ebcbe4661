"""int8 (sq8) vectors on real encodings: re-scored search gives the float32 top-10, a store built
with sq8 records it and searches like the float32 one, and a store from before the codec opens."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from shoplens.config import BuildConfig, IndexConfig
from shoplens.encoders import registry
from shoplens.engine import Engine
from shoplens.store.layout import current_generation
from shoplens.store.vectors import FaissIndex

from ..conftest import need

QUERIES = ["men black shoes", "women blue jeans", "red handbag", "white sports t-shirt", "girls pink dress"]


@pytest.fixture(scope="module")
def real_title_vectors(onnx_cache):
    """2,000 real product titles (styles_text_only.csv) as e5 passages, 60 other titles as e5 queries."""
    with open(need("fashion/styles_text_only.csv"), encoding="utf-8") as f:
        titles = list(dict.fromkeys(r["productDisplayName"] for r in csv.DictReader(f)))
    enc = registry.create("e5", threads=2, batch_size=64, cache_dir=onnx_cache)
    docs = enc.encode(titles[:2000], mode="passage")
    queries = enc.encode(titles[10_000:10_060], mode="query")
    return docs, queries


@pytest.mark.parametrize("large", ["hnsw", "ivf"])
def test_sq8_rescored_top10_equals_float32_exact(real_title_vectors, large):
    docs, queries = real_title_vectors
    ids = np.arange(len(docs))
    exact = FaissIndex.build(docs, ids, len(docs), exact_threshold=10**9)  # float32, brute force
    sq8 = FaissIndex.build(docs, ids, len(docs), exact_threshold=0, codec="sq8", large_index=large, ivf_nlist=64)
    plain = FaissIndex.build(docs, ids, len(docs), exact_threshold=0, codec="sq8", large_index=large, ivf_nlist=64)
    plain.rescore = 0  # quantised scores only, for contrast
    overlap = [len(set(sq8.search(q, 10)[1]) & set(exact.search(q, 10)[1])) / 10 for q in queries]
    same_order = [np.array_equal(sq8.search(q, 10)[1], exact.search(q, 10)[1]) for q in queries]
    # chance level: 10 / 2000 = 0.005 overlap for a random top-10
    assert np.mean(overlap) >= 0.97, overlap
    assert np.mean(same_order) >= 0.9
    for q in queries[:10]:  # re-scored: the float32 cosine itself wherever the hits agree
        s, d = sq8.search(q, 10)
        e, de = exact.search(q, 10)
        for doc in np.intersect1d(d, de):
            assert s[d == doc][0] == pytest.approx(e[de == doc][0], abs=1e-5)
    assert np.mean([len(set(plain.search(q, 10)[1]) & set(exact.search(q, 10)[1])) / 10 for q in queries]) >= 0.8


def test_sq8_store_records_codec_and_searches_like_f32(tmp_path, small_store, small_catalog, small_engine):
    store = tmp_path / "s"
    shutil.copytree(small_store, store)  # its feature cache: nothing is encoded again
    cfg = replace(small_engine.config, index=IndexConfig(vector_codec="sq8", exact_threshold=100))
    Engine.build(small_catalog, store, cfg, BuildConfig(progress=False, auto_align=False, rebuild=True))
    doc = json.loads((current_generation(store) / "manifest.json").read_text())
    assert doc["fields"] and all(f["codec"] == "sq8" for f in doc["fields"].values())
    assert all((current_generation(store) / f["exact_file"]).is_file() for f in doc["fields"].values())
    with Engine.open(store, cfg) as eng:
        assert {v.codec for v in eng.reader.vectors.values()} == {"sq8"}
        for q in QUERIES:
            want = [h.id for h in small_engine.search(text=q, k=10).hits]
            got = [h.id for h in eng.search(text=q, k=10).hits]
            # chance level: 10 / 240 ≈ 0.04
            assert len(set(got) & set(want)) >= 8, (q, got, want)


def test_store_written_before_the_codec_opens(tmp_path, small_store, small_engine, engine_config):
    """A manifest without `codec`/`exact_file` (what shoplens wrote before sq8) reads as float32; f32
    fields are still written that way, so an older shoplens reads them too."""
    store = tmp_path / "old"
    shutil.copytree(small_store, store)
    doc = json.loads((current_generation(store) / "manifest.json").read_text())
    assert doc["fields"] and not any({"codec", "exact_file"} & set(f) for f in doc["fields"].values())
    with Engine.open(store, engine_config) as eng:
        assert {v.codec for v in eng.reader.vectors.values()} == {"f32"}
        for q in QUERIES[:2]:
            assert [h.id for h in eng.search(text=q, k=5).hits] == [h.id for h in small_engine.search(text=q, k=5).hits]

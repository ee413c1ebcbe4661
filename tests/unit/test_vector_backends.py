"""The vector-backend choice: parsing --vectors, Milvus names and settings, the doc-id filter, and the
embedded backend behind the interface (the Milvus backend itself: tests/integration/test_milvus.py)."""

from __future__ import annotations

import numpy as np
import pytest

from shoplens.config import IndexConfig
from shoplens.errors import ConfigError
from shoplens.store.backends import EmbeddedBackend, backend_for_build, parse_vectors, store_id
from shoplens.store.backends.milvus import MilvusBackend, MilvusIndex, collection_name, index_settings
from shoplens.store.manifest import FieldInfo


def test_parse_vectors():
    assert parse_vectors("embedded") == {"backend": "faiss"}
    assert parse_vectors("") == {"backend": "faiss"}
    assert parse_vectors("milvus://10.0.0.5:19530") == {
        "backend": "milvus",
        "uri": "http://10.0.0.5:19530",
        "prefix": "shoplens",
    }
    assert parse_vectors("milvus://db.internal:443/shop_eu")["prefix"] == "shop_eu"
    for bad in ("milvus://host", "milvus://h:1/bad-prefix", "qdrant://h:1", "milvus://h:x"):
        with pytest.raises(ConfigError, match="milvus://HOST:PORT"):
            parse_vectors(bad)


def test_collection_names_are_per_generation_and_valid():
    a = collection_name("shoplens_0123456789ab", "gen-000007", "text:e5")
    assert a == "shoplens_0123456789ab_g000007_text__e5"
    assert collection_name("p", "gen-000008", "text:e5") != collection_name("p", "gen-000007", "text:e5")
    assert collection_name("p", "gen-000001", "aligned:image.v2") == "p_g000001_aligned__image_v2"


def test_index_settings():
    cfg = IndexConfig(hnsw_m=16)
    assert index_settings(cfg, 1000) == ("HNSW", {"M": 16, "efConstruction": 80})
    kind, p = index_settings(IndexConfig(milvus_index="ivf_sq8"), 10_000)
    assert kind == "IVF_SQ8" and p == {"nlist": 400}
    assert index_settings(IndexConfig(milvus_index="IVF_FLAT", milvus_index_params={"nlist": 7}), 10)[1] == {"nlist": 7}
    with pytest.raises(ConfigError, match="DISKANN"):
        index_settings(IndexConfig(milvus_index="DISKANN"), 10)


def test_filter_expression_names_the_shorter_side():
    idx = MilvusIndex(None, "c", np.array([0, 2, 3, 5, 6]), 4, "HNSW", IndexConfig())  # type: ignore[arg-type]
    allowed = np.zeros(8, dtype=bool)
    assert idx._filter(None) == ""
    assert idx._filter(allowed) is None  # nothing allowed: no call at all
    allowed[[2, 4]] = True  # 4 has no vector in this field
    assert idx._filter(allowed) == "doc in [2]"
    allowed[[0, 3, 5]] = True
    assert idx._filter(allowed) == "doc not in [6]"
    allowed[6] = True
    assert idx._filter(allowed) == ""
    assert idx._filter(np.ones(3, dtype=bool)) == "doc in [0,2]"  # a mask shorter than the docs


def test_store_id_is_stable(tmp_path):
    a = store_id(tmp_path)
    assert len(a) == 12 and store_id(tmp_path) == a
    assert (tmp_path / "store-id").read_text() == a


def test_build_backend_follows_config_then_the_live_generation(tmp_path):
    assert isinstance(backend_for_build(tmp_path, IndexConfig()), EmbeddedBackend)  # a new store
    b = backend_for_build(tmp_path, IndexConfig(vectors="milvus://127.0.0.1:1/x"))
    assert isinstance(b, MilvusBackend) and b.prefix == f"x_{store_id(tmp_path)}"
    assert b.describe()["uri"] == "http://127.0.0.1:1"


def test_embedded_backend_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    docs = np.arange(0, 100, 2)
    b = EmbeddedBackend(IndexConfig())
    where = b.write_field(tmp_path, "gen-000001", "text:e5", v, docs, 100)
    b.finish()
    assert where == {"index": "flat", "file": "vectors/text__e5.faiss"}  # f32: no codec keys (older readers)
    idx = b.open_field(tmp_path, FieldInfo("text:e5", 8, 50, source="encoder:e5", **where), 100)
    scores, got = idx.search(v[3], 1)
    assert got.tolist() == [6] and abs(float(scores[0]) - 1.0) < 1e-5
    assert b.retire(tmp_path) == [] and b.describe() == {"backend": "faiss"}


def _search_answer(vecs: np.ndarray, topks: list[int]):
    """Milvus's search answer for len(topks) queries with their hits' `vec`, as pymilvus parses it."""
    from pymilvus.client.search_result import SearchResult
    from pymilvus.client.types import DataType
    from pymilvus.grpc_gen import schema_pb2

    field = schema_pb2.FieldData(type=DataType.FLOAT_VECTOR, field_name="vec")
    field.vectors.dim = vecs.shape[1]
    field.vectors.float_vector.data.extend(vecs.ravel().tolist())
    res = schema_pb2.SearchResultData(num_queries=len(topks), top_k=max(topks), topks=topks)
    res.scores.extend(np.linspace(1, 0, len(vecs)).tolist())
    res.ids.int_id.data.extend(range(100, 100 + len(vecs)))
    res.fields_data.append(field)
    res.output_fields.append("vec")
    return SearchResult(res)


def test_hit_vectors_reads_the_vectors_milvus_returns():
    """One query (what MilvusIndex sends): read from the FloatArray's bytes, the hits never cut into
    per-hit lists; several queries: from those lists. The same float32 values either way."""
    from shoplens.store.backends.milvus import hit_vectors

    vecs = np.random.default_rng(0).standard_normal((6, 384)).astype(np.float32)
    (one,) = _search_answer(vecs, [6])
    assert np.array_equal(hit_vectors(one, 384), vecs) and not one.has_materialized
    assert one.ids == list(range(100, 106))
    first, second = _search_answer(vecs, [3, 3])
    assert np.array_equal(hit_vectors(first, 384), vecs[:3]) and np.array_equal(hit_vectors(second, 384), vecs[3:])

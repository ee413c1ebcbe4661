"""The sq8 codec of store/vectors.py: quantised index, float32 vectors on disk beside it (positional reads)."""

from __future__ import annotations

import json
import mmap
import threading

import numpy as np
import pytest

from shoplens.config_file import load_settings
from shoplens.errors import ConfigError, StoreError
from shoplens.store.manifest import Manifest
from shoplens.store.vectors import FaissIndex, RowFile, exact_path


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def mapped(a: object) -> bool:
    """Whether an array's memory is a file mapping (following .base / memoryview.obj)."""
    while a is not None and not isinstance(a, mmap.mmap):
        a = getattr(a, "base", None) if isinstance(a, np.ndarray) else getattr(a, "obj", None)
    return a is not None


@pytest.mark.parametrize("large", ["hnsw", "ivf"])
@pytest.mark.parametrize("threshold", [10_000, 100])  # flat / large index
def test_sq8_saves_reads_from_disk_and_rescores_exactly(tmp_path, large, threshold):
    x = unit_rows(3000)
    docs = np.arange(3000) * 2  # vectors for even docs only
    built = FaissIndex.build(x, docs, 6000, threshold, codec="sq8", large_index=large)
    built.save(tmp_path / "f.faiss")
    assert exact_path(tmp_path / "f.faiss").is_file()
    idx = FaissIndex.load(tmp_path / "f.faiss", 6000, codec="sq8")
    assert idx.codec == "sq8" and idx.exact is not None
    assert isinstance(idx.exact, RowFile) and not mapped(idx.exact)  # float32 stays on disk, not mapped in
    assert idx.kind == ("flat" if threshold == 10_000 else large)
    ref = FaissIndex.build(x, docs, 6000, 10_000)  # exact float32
    for i in (7, 500, 2999):
        s, d = idx.search(x[i], 10)
        rs, rd = ref.search(x[i], 10)
        assert d[0] == 2 * i
        # re-scored: the float32 scores themselves, not the 8-bit approximations
        common = np.intersect1d(d, rd)
        assert len(common) >= 9
        for doc in common:
            assert s[d == doc][0] == pytest.approx(rs[rd == doc][0], abs=1e-5)
    allowed = np.zeros(6000, bool)
    allowed[[2, 4, 1]] = True  # 1 has no vector
    _, d = idx.search(x[7], 5, allowed)
    assert sorted(d.tolist()) == [2, 4]
    found, vecs = idx.vectors_of(np.array([0, 1, 14]))
    assert found.tolist() == [True, False, True]
    assert np.array_equal(vecs[0], x[0]) and np.array_equal(vecs[2], x[7])  # bit-exact float32


def test_row_file_reads_equal_the_saved_vectors(tmp_path):
    x = unit_rows(1000, dim=48, seed=3)
    FaissIndex.build(x, np.arange(1000), 1000, 10_000, codec="sq8").save(tmp_path / "f.faiss")
    rf = RowFile(exact_path(tmp_path / "f.faiss"))
    assert rf.shape == (1000, 48) and len(rf) == 1000
    rng = np.random.default_rng(0)
    # scattered, unsorted, repeated, consecutive runs, the first and last rows, and nothing
    for rows in (rng.choice(1000, 400, replace=False), np.array([999, 5, 5, 6, 7, 0, 998, 6]), np.arange(1000)):
        assert np.array_equal(rf.read(rows), x[rows])  # bit-exact float32, in the order asked
    assert rf.read(np.zeros(0, np.int64)).shape == (0, 48)
    with pytest.raises(IndexError, match="out of range"):
        rf.read(np.array([1000]))
    # several threads reading at once (the server searches from a thread pool) each get their own rows
    errors: list[int] = []

    def worker(seed: int) -> None:
        r = np.random.default_rng(seed)
        for _ in range(50):
            rows = r.integers(0, 1000, 300)
            if not np.array_equal(rf.read(rows), x[rows]):
                errors.append(seed)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rf.close()


def test_truncated_float_file_is_a_store_error(tmp_path):
    x = unit_rows(100)
    FaissIndex.build(x, np.arange(100), 100, 10_000, codec="sq8").save(tmp_path / "f.faiss")
    f = exact_path(tmp_path / "f.faiss")
    f.write_bytes(f.read_bytes()[:-4])
    with pytest.raises(StoreError, match=r"f\.f32\.npy.*truncated.*--rebuild"):
        FaissIndex.load(tmp_path / "f.faiss", 100, codec="sq8")


def test_loaded_sq8_index_saves_its_float_vectors(tmp_path):
    x = unit_rows(200)
    FaissIndex.build(x, np.arange(200), 200, 10_000, codec="sq8").save(tmp_path / "a.faiss")
    FaissIndex.load(tmp_path / "a.faiss", 200, codec="sq8").save(tmp_path / "b.faiss")
    assert np.array_equal(np.load(exact_path(tmp_path / "b.faiss")), x)


def test_rescore_zero_returns_the_quantised_scores():
    x = unit_rows(2000)
    idx = FaissIndex.build(x, np.arange(2000), 2000, 10_000, codec="sq8", rescore=0)
    s, d = idx.search(x[3], 5)
    assert d[0] == 3 and s[0] != pytest.approx(1.0, abs=1e-6)  # 8-bit codes: not the exact cosine
    idx.rescore = 400
    assert idx.search(x[3], 5)[0][0] == pytest.approx(1.0, abs=1e-6)


def test_sq8_index_is_a_quarter_of_f32(tmp_path):
    x = unit_rows(5000, dim=128)
    f32 = FaissIndex.build(x, np.arange(5000), 5000, 10_000)
    sq8 = FaissIndex.build(x, np.arange(5000), 5000, 10_000, codec="sq8")
    assert sq8.index_bytes() < 0.3 * f32.index_bytes()


def test_missing_float_file_is_a_store_error(tmp_path):
    x = unit_rows(100)
    FaissIndex.build(x, np.arange(100), 100, 10_000, codec="sq8").save(tmp_path / "f.faiss")
    exact_path(tmp_path / "f.faiss").unlink()
    with pytest.raises(StoreError, match=r"f\.f32\.npy.*--rebuild"):
        FaissIndex.load(tmp_path / "f.faiss", 100, codec="sq8")


def test_manifest_field_without_codec_reads_as_f32():
    """Manifests written before the codec existed (no `codec`/`exact_file` keys) stay readable."""
    old = {"name": "text:e5", "dim": 384, "rows": 3, "index": "flat", "source": "encoder:e5", "file": "v.faiss"}
    doc = {
        "schema_version": 2,
        "shoplens_version": "0.2.0",
        "generation": "gen-1",
        "created": "2026-01-01T00:00:00+00:00",
        "products": 3,
        "catalogs": [],
        "encoders": {},
        "fields": {"text:e5": old},
        "heads": None,
        "field_map": {},
        "lexical": {},
    }
    info = Manifest.from_dict(json.loads(json.dumps(doc))).fields["text:e5"]
    assert info.codec == "f32" and info.exact_file is None and info.file == "v.faiss"


def test_store_file_codec_is_checked(tmp_path):
    (tmp_path / "shoplens.toml").write_text('[index]\nvector_codec = "sq8"\nlarge_index = "ivf"\n')
    cfg = load_settings(tmp_path).engine.index
    assert (cfg.vector_codec, cfg.large_index) == ("sq8", "ivf")
    (tmp_path / "shoplens.toml").write_text('[index]\nvector_codec = "int4"\n')
    with pytest.raises(ConfigError, match=r"index\.vector_codec.*f32, sq8.*int4"):
        load_settings(tmp_path)

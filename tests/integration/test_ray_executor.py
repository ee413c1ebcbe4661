"""`index --executor ray` on a real local Ray: the same vectors and search results as the local
executor, and a block whose actor dies (or raises) on its first attempt is retried, not lost."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from shoplens.config import BuildConfig, QualityConfig
from shoplens.engine import Engine
from shoplens.features.ray_executor import FAULT_ENV
from shoplens.store.reader import StoreReader

from ..conftest import fashion_rows, write_catalog

pytestmark = pytest.mark.slow
N = 80  # real products, 2 Ray blocks of 64 (the default) or 8 of 10
QUERIES = ["white shirt", "black watch", "men blue jeans", "women handbag", "sports shoes", "red dress"]
# Ray's Python log lines ("<time>\tWARNING file.py:85 -- ..."), its C++ info/warning lines
# ("[<time> I 123 123] file.cc:303: ...") and worker lines forwarded to the driver ("(MapWorker pid=1) ...")
RAY_NOISE = re.compile(r"\t(INFO|WARNING) \S+\.py:\d+ -- |^\[[\d\- :,]+ [IW] \d+ \d+\]|^\(\S*\s*pid=\d+")


@pytest.fixture(scope="module")
def config(engine_config):
    """No warm-up thread left running after a build: ray.init forks Ray's processes next."""
    return replace(engine_config, quality=QualityConfig(warm_up=False))


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return write_catalog(tmp_path_factory.mktemp("ray_cat") / "catalog.csv", fashion_rows(N, offset=400))


@pytest.fixture(scope="module")
def local_store(catalog, config, tmp_path_factory):
    store = tmp_path_factory.mktemp("ray_local") / "s"
    Engine.build(catalog, store, config, BuildConfig(progress=False, auto_align=False)).close()
    return store


def _vectors(store) -> dict[str, dict[str, np.ndarray]]:
    """field -> product id -> stored vector (what search reads)."""
    r = StoreReader(store)
    try:
        ids = list(r.products.ids)
        docs = np.array([r.products.doc_of(i) for i in ids], np.int64)
        out = {}
        for name, index in r.vectors.items():
            found, vecs = index.vectors_of(docs)
            out[name] = {i: v for i, v, f in zip(ids, vecs, found) if f}
        return out
    finally:
        r.close()


def _assert_same_vectors(got, want, ids=None):
    assert set(got) == set(want)
    for field in want:
        # fields such as ocr:e5 hold only the products that have one (text printed in a photo)
        keys = [i for i in ids if i in want[field]] if ids is not None else list(want[field])
        assert set(keys) <= set(got[field]), field
        if ids is not None:
            assert set(got[field]) & set(ids) == set(keys), field
        a = np.stack([got[field][i] for i in keys])
        b = np.stack([want[field][i] for i in keys])
        assert np.allclose(a, b, atol=1e-5), (field, float(np.abs(a - b).max()))


def _top10(store, engine_config):
    with Engine.open(store, engine_config) as e:
        return {q: [h.id for h in e.search(q, k=10).hits] for q in QUERIES}


def test_cli_ray_build_survives_a_dying_actor_and_equals_local(catalog, local_store, onnx_cache, config, tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    (store / "shoplens.toml").write_text(f'[encoders]\ncache_dir = "{onnx_cache}"\n', encoding="utf-8")
    marker = tmp_path / "fault-fired"
    env = {**os.environ, FAULT_ENV: f"die:1:{marker}"}  # the actor that first gets block 1 exits mid-build
    p = subprocess.run(
        [sys.executable, "-m", "shoplens", "index", str(catalog), "--store", str(store), "--executor", "ray"],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"indexed {N} products" in p.stdout
    assert marker.read_text().startswith("die"), "the fault hook never fired: nothing was retried"
    assert "ray executor" in p.stderr  # the executor said what it ran (blocks, actors, vectors)
    noise = [line for line in p.stderr.splitlines() if RAY_NOISE.search(line)]
    assert not noise, noise  # at default verbosity Ray's info and warnings stay out of a user's terminal
    _assert_same_vectors(_vectors(store), _vectors(local_store))
    got, want = _top10(store, config), _top10(local_store, config)
    overlap = np.mean([len(set(got[q]) & set(want[q])) / max(1, len(want[q])) for q in QUERIES])
    assert overlap >= 0.99 and all(got[q][:1] == want[q][:1] for q in QUERIES), (got, want)


@pytest.fixture
def local_ray():
    """A private local Ray for this test (2 CPUs, a small object store); the executor uses it as is."""
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        object_store_memory=128 << 20,
        include_dashboard=False,
        logging_level=logging.WARNING,
    )
    try:
        yield ray
    finally:
        ray.shutdown()


def test_a_block_that_raises_is_rerun_and_nothing_is_lost(
    catalog, local_store, config, local_ray, tmp_path, monkeypatch, caplog
):
    sub = write_catalog(tmp_path / "sub.csv", fashion_rows(30, offset=400))
    marker = tmp_path / "fault-fired"
    monkeypatch.setenv(FAULT_ENV, f"raise:1:{marker}")
    build = BuildConfig(progress=False, auto_align=False, executor="ray", ray_block_size=10, ray_actors=1)
    with caplog.at_level(logging.INFO, logger="shoplens"):
        Engine.build(sub, tmp_path / "s", config, build).close()
    assert marker.read_text().startswith("raise")
    retried = [r.getMessage() for r in caplog.records if "attempt 1 failed" in r.getMessage()]
    assert retried, [r.getMessage() for r in caplog.records]
    assert "re-running the" in retried[0] and "products still missing" in retried[0]
    ids = [r["id"] for r in fashion_rows(30, offset=400)]
    _assert_same_vectors(_vectors(tmp_path / "s"), _vectors(local_store), ids)


def test_unknown_executor_is_a_config_error(catalog, config, tmp_path):
    from shoplens.errors import ConfigError

    with pytest.raises(ConfigError, match="executor 'spark'"):
        Engine.build(catalog, tmp_path / "s", config, BuildConfig(progress=False, executor="spark"))
    assert not (tmp_path / "s" / "CURRENT").exists()

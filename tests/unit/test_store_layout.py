import numpy as np
import pytest

from shoplens.errors import QueryError
from shoplens.records import Product
from shoplens.store.layout import (
    StoreError,
    clean_interrupted,
    current_generation,
    new_generation,
    publish,
    writer_lock,
)
from shoplens.store.products import ProductTable
from shoplens.store.vectors import FaissIndex


def test_publish_is_atomic_and_keeps_two_generations(tmp_path):
    assert current_generation(tmp_path) is None
    names = []
    for i in range(3):
        tmp, final = new_generation(tmp_path)
        (tmp / "x").write_text(str(i))
        assert current_generation(tmp_path) is None or current_generation(tmp_path).name != final.name
        publish(tmp_path, tmp, final)
        names.append(final.name)
        assert current_generation(tmp_path).name == final.name
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == names[1:]
    tmp, _ = new_generation(tmp_path)  # an interrupted build
    assert clean_interrupted(tmp_path) == [tmp.name]
    assert (current_generation(tmp_path) / "x").read_text() == "2"


def test_single_writer(tmp_path):
    with writer_lock(tmp_path):
        with pytest.raises(StoreError, match="another shoplens process"):
            with writer_lock(tmp_path):
                pass


def test_product_table_filters_and_facets(tmp_path):
    ps = [
        Product("a", "A", price=10, attributes={"colour": "Red", "size": "9"}),
        Product("b", "B", price=30, attributes={"colour": "Blue", "size": "11"}),
        Product("c", "C", attributes={"colour": "red"}),
    ]
    t = ProductTable.create(tmp_path / "p.sqlite", ps, [{"type": "shoes"}, {}, {}])
    assert t.filter_mask({"colour": "RED"}).tolist() == [True, False, True]
    assert t.filter_mask({"colour": ["blue", "red"], "price": "<20"}).tolist() == [True, False, False]
    assert t.filter_mask({"size": ">=10"}).tolist() == [False, True, False]
    assert t.filter_mask({"type": "shoes"}).tolist() == [True, False, False]
    assert t.facets([0, 1, 2], ["colour"]) == {"colour": {"Red": 1, "Blue": 1, "red": 1}}
    with pytest.raises(QueryError, match="expected a number"):
        t.filter_mask({"price": "<=cheap"})


def test_faiss_exact_and_hnsw_filtered_search():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 16)).astype("float32")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    docs = np.arange(3000) * 2  # vectors for even docs only
    flat = FaissIndex.build(x, docs, 6000, exact_threshold=10_000)
    hnsw = FaissIndex.build(x, docs, 6000, exact_threshold=100)
    assert flat.kind == "flat" and hnsw.kind == "hnsw"
    s, d = flat.search(x[7], 5)
    assert d[0] == 14 and s[0] == pytest.approx(1.0, abs=1e-5)
    assert hnsw.search(x[7], 5)[1][0] == 14
    allowed = np.zeros(6000, bool)
    allowed[[2, 4, 1]] = True  # 1 has no vector
    for idx in (flat, hnsw):
        _, d = idx.search(x[7], 5, allowed)
        assert sorted(d.tolist()) == [2, 4]
    found, vecs = flat.vectors_of(np.array([0, 1]))
    assert found.tolist() == [True, False] and np.allclose(vecs[0], x[0])


def test_fault_point_kills_only_at_the_named_step(tmp_path):
    """The crash hook is inert unless $SHOPLENS_FAULT_AT names the step, and then it is a real SIGKILL."""
    import os
    import signal
    import subprocess
    import sys

    from shoplens.store.layout import FAULT_ENV, PUBLISH_STEPS, WRITE_STEPS, fault_point

    fault_point("after-products")  # no variable: nothing happens
    code = "from shoplens.store.layout import fault_point as f; f('after-vectors'); f('after-lexical'); print('x')"
    env = {**os.environ, FAULT_ENV: "after-lexical"}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL and p.stdout == ""
    p = subprocess.run([sys.executable, "-c", code], env={**env, FAULT_ENV: "nowhere"}, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "x\n"
    assert len(set(WRITE_STEPS + PUBLISH_STEPS)) == 7


def test_generation_numbers_and_cleanup_keep_the_newest(tmp_path):
    for name in ("gen-000009", "gen-000010.tmp", "gen-x"):
        (tmp_path / name).mkdir()
    tmp, final = new_generation(tmp_path)
    assert final.name == "gen-000011" and tmp.name == "gen-000011.tmp" and tmp.is_dir()
    (tmp_path / "gen-000009" / "manifest.json").write_text("{}")
    publish(tmp_path, tmp, final, keep=1)
    assert (tmp_path / "CURRENT").read_text() == "gen-000011"
    assert not (tmp_path / "gen-000009").exists() and final.is_dir()
    assert sorted(clean_interrupted(tmp_path)) == ["gen-000010.tmp"]
    assert not (tmp_path / "gen-000010.tmp").exists()


def test_current_naming_a_missing_generation_is_a_store_error(tmp_path):
    (tmp_path / "CURRENT").write_text("gen-000003\n")
    with pytest.raises(StoreError, match="gen-000003"):
        current_generation(tmp_path)
    (tmp_path / "gen-000003").mkdir()
    assert current_generation(tmp_path) == tmp_path / "gen-000003"


_PUBLISH = """
import sys
from pathlib import Path
from shoplens.store.layout import new_generation, publish
store = Path(sys.argv[1])
tmp, final = new_generation(store)
(tmp / "manifest.json").write_text("{}")
publish(store, tmp, final, keep=1)
"""


@pytest.mark.parametrize(
    "step, current, old_left",
    [
        ("after-rename", "gen-000001", "whole"),
        ("after-current", "gen-000002", "whole"),
        ("during-cleanup", "gen-000002", "half"),
    ],
)
def test_publish_killed_at_each_step(tmp_path, step, current, old_left):
    """What a SIGKILL at each publish step leaves: CURRENT names a complete generation, always."""
    import os
    import signal
    import subprocess
    import sys

    from shoplens.store.layout import FAULT_ENV

    first, final = new_generation(tmp_path)
    assert final.name == "gen-000001"  # numbering starts at 1
    (first / "manifest.json").write_text("{}")
    publish(tmp_path, first, final)
    env = {**os.environ, FAULT_ENV: step}
    p = subprocess.run([sys.executable, "-c", _PUBLISH, str(tmp_path)], env=env, capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert (tmp_path / "CURRENT").read_text() == current
    assert (tmp_path / current / "manifest.json").is_file()
    assert (tmp_path / "gen-000002" / "manifest.json").is_file()  # the new generation is complete either way
    old_manifest = (tmp_path / "gen-000001" / "manifest.json").is_file()
    assert old_manifest == (old_left == "whole")  # cleanup removes the manifest first: half-deleted reads as such


def test_write_atomic_bytes_and_new_generation_in_a_new_store(tmp_path):
    from shoplens.store.layout import write_atomic

    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    write_atomic(tmp_path / "t.txt", "naïve")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff" and (tmp_path / "t.txt").read_text("utf-8") == "naïve"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "t.txt"]  # no temporary file left
    tmp, final = new_generation(tmp_path / "new" / "store")
    assert tmp.is_dir() and final.name == "gen-000001"

"""Store migrations on a store written by the previous release (tests/data/store_v1, schema v1,
built by the code at be7c944: see tests/data/README.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shoplens.engine import Engine
from shoplens.store import schema
from shoplens.store.layout import SCHEMA_VERSION, StoreError, current_generation
from shoplens.store.manifest import Manifest, read_manifest
from shoplens.store.reader import StoreReader

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store_v1"


@pytest.fixture
def old_store(tmp_path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(FIXTURE, store)
    return store


def snapshot(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def test_fixture_is_a_v1_store():
    assert read_manifest(FIXTURE / "gen-000001")["schema_version"] == 1 == SCHEMA_VERSION - 1


def test_old_store_is_readable_without_writing_to_it(old_store):
    before = snapshot(old_store)
    r = StoreReader(old_store)
    m = r.manifest
    assert m.schema_version == SCHEMA_VERSION and m.migrated_from == 1
    # what v1 hard-coded (features/combine.IMAGE_PART_WEIGHTS at be7c944), for the parts the store has
    assert m.image_part_weights == {"colour": 0.5, "efficientnet_lite0": 1.0, "mobilenet_v2": 1.0}
    assert m.config_fingerprint is None  # v1 did not record its settings: unknown, not invented
    assert len(r.products) == 20 and m.fields["image"].rows == 20
    assert not r.lexical.simplify  # a v1 lexical index keeps v1 query tokens
    r.close()
    assert snapshot(old_store) == before


def test_migrate_writes_a_new_generation_and_keeps_the_old(old_store):
    old_files = snapshot(old_store)
    got = Engine.migrate(old_store)
    assert got == {"from": 1, "to": SCHEMA_VERSION, "generation": "gen-000002"}
    gen = current_generation(old_store)
    assert gen.name == "gen-000002" and (old_store / "gen-000001").is_dir()
    raw = read_manifest(gen)
    assert raw["schema_version"] == SCHEMA_VERSION and raw["generation"] == "gen-000002"
    assert raw["image_part_weights"]["colour"] == 0.5 and raw["migrated_from"] == 1
    # every data file came over unchanged; the old generation is untouched
    for name, data in old_files.items():
        if name.startswith("gen-000001/") and not name.endswith("manifest.json"):
            assert (old_store / name.replace("gen-000001", "gen-000002")).read_bytes() == data
        if name.startswith("gen-000001/"):
            assert (old_store / name).read_bytes() == data
    old, new = json.loads(old_files["gen-000001/manifest.json"]), raw
    assert {k: v for k, v in old.items() if k not in ("schema_version", "generation")} == {
        k: v for k, v in new.items() if k in old and k not in ("schema_version", "generation")
    }
    assert Engine.migrate(old_store)["generation"] is None  # already current: nothing written
    assert current_generation(old_store).name == "gen-000002"


def test_a_failing_step_leaves_the_old_generation_live(old_store, monkeypatch):
    def broken(d):
        raise OSError("disk full")

    monkeypatch.setitem(schema.MIGRATIONS, 1, schema.Migration(2, "test", broken))
    with pytest.raises(OSError):
        Engine.migrate(old_store)
    assert current_generation(old_store).name == "gen-000001"
    assert sorted(p.name for p in old_store.glob("gen-*")) == ["gen-000001"]  # no half-written generation
    assert read_manifest(old_store / "gen-000001")["schema_version"] == 1


def test_steps_run_in_order(old_store, monkeypatch):
    """A registry keyed by from-version: v1 -> v2 -> v3, each step seeing the previous one's output."""
    seen = []

    def to3(d):
        seen.append(d["schema_version"])
        return {**d, "schema_version": 3}

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(schema.MIGRATIONS, 2, schema.Migration(3, "test", to3))
    assert [s.to for s in schema.plan(1, old_store / "gen-000001")] == [2, 3]
    d = schema.upgrade_manifest(read_manifest(old_store / "gen-000001"), old_store / "gen-000001")
    assert d["schema_version"] == 3 and seen == [2] and "image_part_weights" in d


@pytest.mark.parametrize("version, says", [(0, "rebuild it with `shoplens index"), (99, "newer shoplens")])
def test_what_cannot_be_migrated_says_what_to_do(old_store, version, says):
    gen = old_store / "gen-000001"
    d = read_manifest(gen)
    (gen / "manifest.json").write_text(json.dumps({**d, "schema_version": version}))
    with pytest.raises(StoreError, match=says):
        Manifest.load(gen)
    with pytest.raises(StoreError, match=says):
        Engine.migrate(old_store)


def test_a_step_that_changes_files_needs_migrate(old_store, monkeypatch):
    monkeypatch.setitem(schema.MIGRATIONS, 1, schema.Migration(2, "re-tokenise", lambda d: d, lambda g, d: None))
    with pytest.raises(StoreError, match="shoplens migrate --store"):
        Manifest.load(old_store / "gen-000001")

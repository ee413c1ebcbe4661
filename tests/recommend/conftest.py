"""A private copy of the session's small real store, so the events these tests log (and the
popularity they create) neither leak into nor depend on other tests' feedback logs."""

from __future__ import annotations

import shutil

import pytest

from ..conftest import fashion_rows


@pytest.fixture(scope="module")
def rec_store(tmp_path_factory, small_store):
    dst = tmp_path_factory.mktemp("rec") / "store"
    shutil.copytree(small_store, dst, ignore=shutil.ignore_patterns("cache", "feedback.sqlite*"))
    return dst


@pytest.fixture(scope="module")
def rec_engine(rec_store, engine_config):
    from shoplens.engine import Engine

    eng = Engine.open(rec_store, engine_config)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def small_rows() -> dict[str, dict]:
    """The small store's catalog rows by id (same 240 rows as `small_catalog`)."""
    return {r["id"]: r for r in fashion_rows(240)}

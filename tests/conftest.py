"""Shared fixtures: real shared data, real models, one small real store per session.

Under `CI=true` a skipped test fails the run unless its reason is in ALLOWED_SKIPS (empty: every
test must run in CI); the skip count is printed at the end of every run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from .shared_data import FASHION, ROOT, SHARED, in_ci, need  # noqa: F401  (re-exported for tests)

# Reasons (substrings) of skips that CI accepts. Keep it empty: a skip in CI hides a test.
ALLOWED_SKIPS: tuple[str, ...] = ()

_skips: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips.append((report.nodeid, reason))


def pytest_collectreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skips.append((report.nodeid, reason))


def _unexpected() -> list[tuple[str, str]]:
    return [(n, r) for n, r in _skips if not any(a in r for a in ALLOWED_SKIPS)]


def pytest_terminal_summary(terminalreporter):
    bad = _unexpected()
    terminalreporter.write_line(f"shoplens: {len(_skips)} skipped, {len(bad)} not in ALLOWED_SKIPS")
    if in_ci() and bad:
        for n, r in bad:
            terminalreporter.write_line(f"  unexpected skip under CI=true: {n}: {r}", red=True)


def pytest_sessionfinish(session, exitstatus):
    if in_ci() and _unexpected() and exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; skips (or, under CI=true, fails) a test when it is missing."""
    return need("fashion/catalog.csv").parents[1]


def fashion_rows(n: int, offset: int = 0) -> list[dict]:
    need("fashion/catalog.csv")
    with open(FASHION / "catalog.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows[offset : offset + n]


def fashion_products(n: int, step: int = 1):
    """`n` real fashion products as records, every `step`-th row (spread over brands)."""
    from shoplens.records import Product

    return [
        Product(
            id=r["id"],
            title=r["productDisplayName"],
            images=(str(FASHION / r["image"]),),
            attributes={"gender": r["gender"], "baseColour": r["baseColour"]},
        )
        for r in fashion_rows(n * step)[::step]
    ][:n]


def write_catalog(path: Path, rows: list[dict]) -> Path:
    """A CSV catalog in shoplens's own column names with absolute image paths."""
    cols = ["id", "title", "image", "gender", "masterCategory", "subCategory", "baseColour", "season", "usage"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    **{c: r.get(c, "") for c in cols},
                    "title": r.get("title", r.get("productDisplayName", "")),
                    "image": str(FASHION / r["image"]) if r.get("image") else "",
                }
            )
    return path


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory) -> Path:
    """One ONNX export per test session, shared by every store the tests build."""
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="session")
def engine_config(onnx_cache):
    from shoplens.config import EncoderConfig, EngineConfig

    return EngineConfig(encoders=EncoderConfig(cache_dir=onnx_cache))


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("catalog")
    return write_catalog(d / "catalog.csv", fashion_rows(240))


@pytest.fixture(scope="session")
def small_store(tmp_path_factory, small_catalog, engine_config):
    """A real store over 240 shared fashion products (titles, attributes, photos)."""
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    store = tmp_path_factory.mktemp("store") / "s"
    Engine.build(small_catalog, store, engine_config, BuildConfig(progress=False, auto_align=False))
    return store


@pytest.fixture(scope="session")
def small_engine(small_store, engine_config):
    from shoplens.engine import Engine

    return Engine.open(small_store, engine_config)


@pytest.fixture(scope="session")
def heldout_heads(small_store, small_engine, tmp_path_factory):
    """Heads trained on catalog rows [0, 600) only (tests/heldout.py says why not the shipped ones)."""
    from shoplens.features.cache import FeatureCache

    from .heldout import train_heads_without, train_rows

    cache = FeatureCache(small_store / "cache" / "features.sqlite")  # rows 0..239 already encoded there
    try:
        return train_heads_without(train_rows(), small_engine.encoders, cache, tmp_path_factory.mktemp("heads"))
    finally:
        cache.close()


HELDOUT_PRODUCTS = 300


@pytest.fixture(scope="session")
def heldout_store(tmp_path_factory, engine_config, small_engine, heldout_heads):
    """A real store of 300 products the test heads never saw (titles, photos, attributes)."""
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    from .heldout import heldout_rows, publish_with_heads

    rows = heldout_rows(HELDOUT_PRODUCTS)
    d = tmp_path_factory.mktemp("heldout")
    Engine.build(
        write_catalog(d / "catalog.csv", rows),
        d / "store",
        engine_config,
        BuildConfig(progress=False, auto_align=False),
    )
    publish_with_heads(d / "store", engine_config, small_engine.encoders, heldout_heads)
    return d / "store", rows

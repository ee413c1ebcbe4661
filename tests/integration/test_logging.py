"""A library build and search on real products: nothing on stdout (fd level, so native libraries
count too), progress and problems in the `shoplens` logs, each problem with its row."""

from __future__ import annotations

import logging

from shoplens.config import BuildConfig
from shoplens.engine import Engine

from ..conftest import fashion_rows, write_catalog


def test_build_and_search_write_nothing_to_stdout_and_log_skipped_rows(tmp_path, engine_config, capfd, caplog):
    rows = fashion_rows(30, offset=600)
    rows[4] = {**rows[4], "image": "images/does-not-exist.jpg"}  # row 5 keeps its text, loses its photo
    cat = write_catalog(tmp_path / "catalog.csv", rows)
    with open(cat, "a", encoding="utf-8") as f:
        f.write(",no id here,,,,,,,\n")  # row 31
    capfd.readouterr()
    with caplog.at_level(logging.INFO, logger="shoplens"):
        # progress=True: bars are drawn only on a terminal, and pytest's stderr is not one
        engine = Engine.build(cat, tmp_path / "store", engine_config, BuildConfig(auto_align=False, progress=True))
        res = engine.search("black watch", k=3)
        engine.search("男士 黑色 运动鞋", k=3)
    out, err = capfd.readouterr()
    assert out == ""
    assert "rows read" not in err and "row 31" not in err  # logs reach handlers, never the streams directly
    assert res.hits and engine.manifest.products == 30
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("row skipped" in m and f"{cat}, row 31, field 'id'" in m for m in warnings), warnings
    assert any("row 5" in m and "image" in m for m in warnings), warnings
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert any("31 rows read, 30 products kept" in r.getMessage() for r in infos)
    assert all(r.name.startswith("shoplens.") for r in caplog.records)

"""Extracted attributes in a real store: stored with their source, filterable, facetable, read by
query understanding where the catalog has no column; Chinese through LAC and the lexicons."""

from __future__ import annotations

import pytest

from shoplens.config import BuildConfig
from shoplens.engine import Engine
from shoplens.preprocess.attributes import extract, learn

from ..conftest import fashion_rows, write_catalog

pytestmark = pytest.mark.slow
COLS = ("gender", "subCategory", "baseColour")


def test_chinese_title_through_lac_and_rules_learned_on_english_titles():
    rows = fashion_rows(1500)
    model = learn(
        [r["productDisplayName"] for r in rows],
        [{c: r[c] for c in COLS} for r in rows],
        columns=COLS,
        field_map={"gender": "gender", "colour": "baseColour"},
    )
    got = {f: e.value for f, e in extract([("title", "耐克男士黑色纯棉T恤")], model).items()}
    assert got["gender"] == "Men" and got["baseColour"] == "Black" and got["subCategory"] == "Topwear", got
    assert got["material"] == "Cotton" and got["brand"] == "耐克", got  # LAC tags 耐克 an organisation


def test_extracted_attributes_filter_and_facet(small_engine):
    res = small_engine.search("casual", k=10, filters={"extracted:subCategory": "Topwear"}, facets=True)
    assert res.hits and res.facets is not None and "extracted:baseColour" in res.facets
    for h in res.hits:
        got = small_engine.extracted_attributes(h.id)
        assert got["extracted:subCategory"]["value"] == "Topwear"
        assert got["extracted:subCategory"]["source"] == "title" and got["extracted:subCategory"]["surface"]


def test_bare_titles_get_colours_that_understanding_reads(tmp_path, engine_config):
    rows = [{"id": r["id"], "title": r["productDisplayName"]} for r in fashion_rows(80, offset=500)]
    store = tmp_path / "s"
    Engine.build(write_catalog(tmp_path / "c.csv", rows), store, engine_config, BuildConfig(progress=False)).close()
    with Engine.open(store, engine_config) as engine:
        assert engine.manifest.field_map.get("colour") == "extracted:colour"
        res = engine.search("black", k=5)
        assert (res.understanding or {}).get("attributes") == {"extracted:colour": "Black"}
        blacks = sum(1 for r in rows if " black " in f" {r['title'].lower()} ")
        # chance of 5 black hits from 80 products with `blacks` black ones is far below 1%
        assert blacks < 25 and all("black" in (h.title or "").lower() for h in res.hits)

"""The core engine on real shared products, real encoders, a real store."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil

import pytest

from shoplens.config import BuildConfig, QualityConfig
from shoplens.engine import Engine
from shoplens.search.query import QueryError
from shoplens.store.layout import StoreError

from ..conftest import FASHION, fashion_rows, write_catalog
from ..grading import grade, hypergeom_tail, min_passing, word
from ..photos import augment

QUIET = BuildConfig(progress=False, auto_align=False)


def test_store_manifest_records_models_and_fields(small_engine):
    m = small_engine.manifest
    assert m.products == 240 and m.schema_version == 2
    assert {"e5", "use", "mobilenet_v2", "efficientnet_lite0", "colour"} <= set(m.encoders)
    assert all(len(e["fingerprint"]) >= 8 for e in m.encoders.values())
    assert m.fields["image"].rows == 240 and m.fields["text:e5"].dim == 384
    assert m.field_map.get("colour") == "baseColour" and m.field_map.get("gender") == "gender"


MEN_BLACK_SHOES = {"kind": "shoes", "gender": "Men", "colour": "Black"}


def _gate(engine, text, want, k=10):
    """Relevant (independent grader: kind + gender + colour) in the top k, and the count a random
    ranking of the 240-product store reaches with probability < 0.1% (hypergeometric)."""
    rows = fashion_rows(240)
    by_id = {r["id"]: r for r in rows}
    relevant = sum(grade(r, want) == 2 for r in rows)
    need = min_passing(lambda t: hypergeom_tail(len(rows), relevant, k, t))
    got = sum(grade(by_id[i], want) == 2 for i in engine.search(text, k=k).ids)
    return got, need


def test_text_search_finds_matching_products_with_explain(small_engine):
    got, need = _gate(small_engine, "men black shoes", MEN_BLACK_SHOES)
    assert got >= need, (got, need)
    res = small_engine.search("men black shoes", k=10)
    assert res.hits[0].components and {"bm25", "text_dense:e5"} <= set(res.hits[0].components)
    assert res.understanding["attributes"]["baseColour"] == "Black"
    j = res.to_json(explain=True)
    assert set(j) >= {"query", "results"} and set(j["results"][0]) == {
        "id",
        "score",
        "title",
        "explain",
        "predicted_attributes",
        "confidence",
        "kept_because",
    }
    assert j["results"][0]["predicted_attributes"]["type"]["value"]  # what the heads read from its photo


def test_chinese_query_matches_english_titles(small_engine):
    res = small_engine.search("男士 黑色 运动鞋", k=10)
    assert res.understanding["english"] == "men black shoes"
    for text in ("男士 黑色 运动鞋", word(MEN_BLACK_SHOES, "zh"), word(MEN_BLACK_SHOES, "zh", 1)):
        got, need = _gate(small_engine, text, MEN_BLACK_SHOES)
        assert got >= need, (text, got, need)


def test_image_search_finds_the_same_product_first(small_engine, tmp_path):
    """A shopper's photo (augmented, not the indexed file) finds its product first; chance 1/240 each."""
    rows = fashion_rows(240)
    for i, r in enumerate(rows[:8:2]):
        res = small_engine.search(image=str(augment(FASHION / r["image"], tmp_path / f"{i}.jpg", seed=i)), k=3)
        assert res.hits[0].id == r["id"]
        assert "image" in res.hits[0].components


def test_text_and_image_together_and_filters_and_facets(small_engine, tmp_path):
    r = fashion_rows(240)[3]
    photo = augment(FASHION / r["image"], tmp_path / "q.jpg", seed=3)
    res = small_engine.search(
        "grey shorts", image=str(photo), k=5, filters={"gender": r["gender"]}, facets=["baseColour"]
    )
    assert res.hits[0].id == r["id"]
    got = small_engine.products(res.ids)
    assert all(p.attributes["gender"] == r["gender"] for p in got.values())
    assert res.facets and "baseColour" in res.facets
    with pytest.raises(QueryError, match="unknown filter field 'colour'"):
        small_engine.search("x", filters={"colour": "Red"})
    assert small_engine.search("shoes", filters={"gender": "Nobody"}).hits == []


def test_batch_search_matches_single_search(small_engine):
    qs = [{"text": "women blue jeans"}, {"text": "watch", "filters": {"gender": "Men"}}]
    batch = small_engine.search_batch(qs, k=5)
    assert batch[0].ids == small_engine.search("women blue jeans", k=5).ids
    assert batch[1].ids == small_engine.search("watch", k=5, filters={"gender": "Men"}).ids


def test_upsert_delete_and_bad_rows_lose_nothing(tmp_path, engine_config, small_store):
    store = tmp_path / "s"
    shutil.copytree(small_store, store)  # reuse the built store and its feature cache
    base = Engine.open(store, engine_config)
    n0 = base.manifest.products
    rows = fashion_rows(240)
    changed = dict(rows[0], productDisplayName="Totally New Title Zebra")
    extra = fashion_rows(2, offset=240)
    cat = write_catalog(tmp_path / "upd.csv", [changed] + extra)
    with open(cat, "a", encoding="utf-8") as f:  # a broken row and a corrupt image
        f.write(",no id,,,,,,,\n")
        (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        f.write(f"zz1,Broken Photo Shirt,{tmp_path / 'broken.jpg'},Men,Apparel,Topwear,Red,Fall,Casual\n")
    eng = Engine.build(cat, store, engine_config, QUIET)
    m = eng.manifest
    assert m.products == n0 + 3  # 2 new + zz1; nothing lost
    assert m.ingest["added"] == 3 and m.ingest["updated"] == 1 and m.ingest["rows_skipped"] == 1
    assert m.ingest["fields_dropped"] >= 1  # the corrupt photo
    assert eng.search("zebra", k=1).hits[0].id == rows[0]["id"]
    assert eng.search("broken photo shirt", k=1).hits[0].id == "zz1"  # kept without its image
    eng2 = Engine.build(cat, store, engine_config, BuildConfig(progress=False, auto_align=False, delete_missing=True))
    assert eng2.manifest.products == 4 and eng2.manifest.ingest["deleted"] == n0 - 1


def test_catalog_with_no_valid_rows_keeps_store(tmp_path, engine_config, small_store):
    store = tmp_path / "s"
    shutil.copytree(small_store, store)
    gen = (store / "CURRENT").read_text()
    (tmp_path / "bad.jsonl").write_text("{oops\n" + json.dumps({"title": "no id"}) + "\n")
    with pytest.raises(StoreError, match="no valid products"):
        Engine.build(tmp_path / "bad.jsonl", store, engine_config, QUIET)
    assert (store / "CURRENT").read_text() == gen
    assert Engine.open(store, engine_config).manifest.products == 240


def test_open_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no shoplens store here"):
        Engine.open(tmp_path / "nothing")


def test_store_with_foreign_heads_never_mixes_spaces(tmp_path, engine_config, small_store, caplog):
    """If the heads that made a store's aligned vectors are gone or changed, cross-modal search is
    switched off (with a message) instead of comparing vectors from two different spaces."""
    store = tmp_path / "s"
    shutil.copytree(small_store, store)
    gen = store / (store / "CURRENT").read_text().strip()
    m = json.loads((gen / "manifest.json").read_text())
    # only the attribute classifiers differ (same towers, same space): the vectors stay usable
    m["heads"]["fingerprint"] = "0000000000000000"
    assert len(m["heads"]["space_fingerprint"]) == 16
    (gen / "manifest.json").write_text(json.dumps(m))
    assert Engine.open(store, engine_config).heads is not None
    # a store built by an older release (no space fingerprint): searchable if the current defaults
    # declare those heads' towers as their own (`same_space_as`), or with the earlier shipped heads
    # kept in default_heads/previous/ (ff7283cc39ef1392, e5 passage mode: another space than today's)
    del m["heads"]["space_fingerprint"]
    from shoplens.align.heads import Heads, default_heads_path

    for fp in Heads.load(default_heads_path()).meta.get("same_space_as") or ():
        m["heads"]["fingerprint"] = fp
        (gen / "manifest.json").write_text(json.dumps(m))
        assert Engine.open(store, engine_config).heads is not None
    for fp in ("ff7283cc39ef1392", "14f8724eaaea06e6"):  # the passage-mode defaults, and the ones before
        m["heads"]["fingerprint"] = fp
        (gen / "manifest.json").write_text(json.dumps(m))
        older = Engine.open(store, engine_config).heads
        assert older is not None and older.fingerprint == "ff7283cc39ef1392" and older.text_mode == "passage"
    # the query-mode defaults before title members (3 members, no roles): read exactly as before
    m["heads"]["fingerprint"] = "37018356cbde8ed2"
    (gen / "manifest.json").write_text(json.dumps(m))
    eng_older = Engine.open(store, engine_config)
    older = eng_older.heads
    assert older is not None and older.fingerprint == "37018356cbde8ed2" and older.text_mode == "query"
    assert older.groups == 3 and older.member_roles == [] and older.attribute_mlp is None
    # ... and judged with the text->photo midpoint fitted for them, not the current heads' default
    assert QualityConfig().cosine_midpoints["text_to_image"] == (0.4125, 0.01)
    assert eng_older.searcher.quality.cosine_midpoints["text_to_image"] == (0.4375, 0.01)
    eng_older.close()
    # a midpoint the store's own settings give wins over the heads' one
    mine = {**QualityConfig().cosine_midpoints, "text_to_image": (0.5, 0.01)}
    cfg = dataclasses.replace(engine_config, quality=QualityConfig(cosine_midpoints=mine))
    with Engine.open(store, cfg) as eng_mine:
        assert eng_mine.searcher.quality.cosine_midpoints["text_to_image"] == (0.5, 0.01)
    # another space
    m["heads"]["fingerprint"] = "0000000000000000"
    m["heads"]["space_fingerprint"] = "0000000000000000"
    (gen / "manifest.json").write_text(json.dumps(m))
    with caplog.at_level(logging.WARNING, logger="shoplens"):
        eng = Engine.open(store, engine_config)
    assert eng.heads is None and any(r.levelname == "WARNING" and "re-embeds" in r.getMessage() for r in caplog.records)
    res = eng.search("black watch", k=5)
    assert res.hits and "text_to_image" not in res.hits[0].components
    eng2 = Engine.build(_one_row_catalog(tmp_path), store, engine_config, QUIET)
    assert eng2.heads is not None and "text_to_image" in eng2.search("black watch", k=5).hits[0].components


def _one_row_catalog(tmp_path):
    return write_catalog(tmp_path / "one.csv", fashion_rows(1))

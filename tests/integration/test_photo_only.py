"""A catalog of photos only (no titles, no attributes): text search still works, in English and
Chinese, through the shipped default heads and their attribute classifiers."""

from __future__ import annotations

import dataclasses

import pytest

from shoplens.config import BuildConfig
from shoplens.engine import Engine
from shoplens.preprocess import lexicon

from ..conftest import fashion_rows, write_catalog

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def photo_store(tmp_path_factory, engine_config):
    rows = fashion_rows(1400)[::7][:200]
    labels = {
        r["id"]: {
            "type": lexicon.product_type(r["productDisplayName"]),
            "gender": r["gender"],
            "colour": r["baseColour"],
        }
        for r in rows
    }
    photos = [{"id": r["id"], "image": r["image"]} for r in rows]  # no title, no attributes
    d = tmp_path_factory.mktemp("photo_only")
    Engine.build(
        write_catalog(d / "catalog.csv", photos),
        d / "store",
        engine_config,
        BuildConfig(progress=False, auto_align=False),
    )
    return d / "store", labels


def _hits(engine, labels, query, want, k=5):
    res = engine.search(query, k=k)
    got = [labels[i] for i in res.ids]
    return res, sum(all(g[f] == v for f, v in want.items()) for g in got)


@pytest.mark.parametrize("query", ["men black shoes", "男士 黑色 运动鞋"])
def test_text_finds_photo_only_products(photo_store, engine_config, query):
    store, labels = photo_store
    engine = Engine.open(store, engine_config)
    want = {"type": "shoes", "gender": "Men", "colour": "Black"}
    assert sum(all(g[f] == v for f, v in want.items()) for g in labels.values()) >= 5
    res, exact = _hits(engine, labels, query, want)
    assert exact >= 3, [labels[i] for i in res.ids]
    _, type_gender = _hits(engine, labels, query, {"type": "shoes", "gender": "Men"})
    assert type_gender >= 4
    assert set(res.hits[0].components) == {"text_to_image"}
    # explain says what the heads read from each photo
    pred = res.to_json(explain=True)["results"][0]["predicted_attributes"]
    assert set(pred) >= {"type", "colour", "gender"} and 0 < pred["type"]["p"] <= 1
    assert any(m["field"] == "colour" and m["value"] == "Black" for m in res.understanding["matches"])


def test_predicted_attributes_rescore_photo_only_candidates(photo_store, engine_config):
    """Re-scoring by the classifiers' log-probabilities moves photos whose predicted attributes match
    the query up (the held-out quality gain is measured in benchmarks/align_quality.py)."""
    store, labels = photo_store
    with_boost = Engine.open(store, engine_config)
    cosine = Engine.open(
        store,
        dataclasses.replace(
            engine_config, search=dataclasses.replace(engine_config.search, predicted_attribute_weight=0.0)
        ),
    )
    combos = {}
    for g in labels.values():
        if g["type"]:
            combos[(g["gender"], g["colour"], g["type"])] = combos.get((g["gender"], g["colour"], g["type"]), 0) + 1
    queries = {
        f"{lexicon.wording('gender', gd)} {lexicon.wording('colour', c)} {lexicon.wording('type', t)}": {
            "gender": gd,
            "colour": c,
            "type": t,
        }
        for (gd, c, t), n in sorted(combos.items())
        if n >= 2
    }
    assert len(queries) >= 10

    def agree(engine):  # top-5 hits whose predicted type, gender and colour are the asked ones
        n = 0
        for q, want in queries.items():
            for h in engine.search(q, k=5).hits:
                n += all(h.predicted.get(f, ("",))[0] == v for f, v in want.items())
        return n

    def exact(engine):
        return sum(_hits(engine, labels, q, w)[1] for q, w in queries.items())

    a, b = agree(with_boost), agree(cosine)
    assert a > b, (a, b)
    assert exact(with_boost) >= 0.5 * sum(
        min(5, combos[(w["gender"], w["colour"], w["type"])]) for w in queries.values()
    )

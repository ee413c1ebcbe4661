"""Round-2 search quality on real photos and the real shared catalog (issue #12): photo + words
compose, nothing-to-find queries return nothing, exact titles find their photo, warm-up."""

from __future__ import annotations

import shutil

import pytest

from shoplens.config import BuildConfig
from shoplens.engine import Engine
from shoplens.preprocess import lexicon
from shoplens.search.tuning import LEGACY, QualityConfig

from ..conftest import FASHION, fashion_rows, write_catalog

pytestmark = pytest.mark.slow

# A black men's shoe photo that is NOT in the 240-product store.
BLACK_SHOE = [r for r in fashion_rows(400, 240) if r["id"] == "10629"][0]


def _labels(rows):
    return {r["id"]: (lexicon.product_type(r["productDisplayName"]), r["gender"], r["baseColour"]) for r in rows}


@pytest.fixture(scope="module")
def labels():
    return _labels(fashion_rows(240))


@pytest.mark.parametrize("word", ["white", "白色"])
def test_black_shoe_photo_plus_white_gives_white_shoes(small_engine, labels, word):
    assert BLACK_SHOE["baseColour"] == "Black" and "Shoes" in BLACK_SHOE["productDisplayName"]
    img = FASHION / BLACK_SHOE["image"]
    want = [i for i, lab in labels.items() if lab == ("shoes", "Men", "White")]
    chance = len(want) / len(labels) * 5  # expected white men's shoes in a random top 5: ~0.2
    res = small_engine.search(word, image=img, k=5)
    got = [labels[i] for i in res.ids]
    assert sum(g == ("shoes", "Men", "White") for g in got) >= 3 > 10 * chance, got
    assert all(g[0] in ("shoes", "sports shoes", "casual shoes") for g in got), got  # no white kurta
    # the photo alone finds black shoes: the word made the difference
    alone = [labels[i] for i in small_engine.search(image=img, k=5).ids]
    assert sum(g[2] == "White" for g in alone) < sum(g[2] == "White" for g in got)
    # the legacy fusion (words and photo as unrelated queries) let the word win over the photo
    small_engine.searcher.quality = LEGACY
    try:
        legacy = [labels[i] for i in small_engine.search(word, image=img, k=5).ids]
    finally:
        small_engine.searcher.quality = QualityConfig()
    assert sum(g == ("shoes", "Men", "White") for g in got) > sum(g == ("shoes", "Men", "White") for g in legacy)


@pytest.mark.parametrize("similarity", ["image", "shape"])
def test_composed_photo_similarity_read_from_the_stored_photo_parts(small_engine, labels, similarity):
    """`compose_photo_similarity` "image" / "shape": the photo term of photo + words read from the stored
    photo vector's parts (CNNs + colour histogram / CNNs only) instead of the aligned space still
    composes: a black shoe + "white" gives white men's shoes, not the photo's black ones."""
    img = FASHION / BLACK_SHOE["image"]
    small_engine.searcher.quality = QualityConfig(compose_photo_similarity=similarity)
    try:
        res = small_engine.search("white", image=img, k=5)
    finally:
        small_engine.searcher.quality = QualityConfig()
    got = [labels[i] for i in res.ids]
    assert "photo_and_words" in res.hits[0].components
    # chance of a white men's shoe at a random place: ~0.04 (see the test above)
    assert sum(g == ("shoes", "Men", "White") for g in got) >= 3, got


NOTHING = ["*", "?", "{}", "\x00", "garden hose", "washing machine", "dog food", "笔记本电脑", "割草机"]


def test_nothing_to_find_returns_nothing_and_real_queries_stay(small_engine):
    for q in NOTHING:
        res = small_engine.search(q, k=10)
        assert res.hits == [], (q, [(h.title, h.confidence, h.evidence) for h in res.hits])
    for q in ("men black shoes", "男士 黑色 运动鞋", "casual", "nike", "jeans"):
        res = small_engine.search(q, k=10)
        assert len(res.hits) >= 5, q
        j = res.to_json(explain=True)["results"][0]
        assert 0.5 <= j["confidence"] <= 1 and j["kept_because"]
    # the legacy setting still returns a full page for the same nonsense: the threshold is what changed
    small_engine.searcher.quality = LEGACY
    try:
        assert len(small_engine.search("garden hose", k=10).hits) == 10
    finally:
        small_engine.searcher.quality = QualityConfig()


@pytest.fixture(scope="module")
def photo_only(tmp_path_factory, engine_config, small_store):
    rows = fashion_rows(1600)[1::8][:200]
    d = tmp_path_factory.mktemp("q2_photo_only")
    # the session's feature and photo-text caches: the photos among its rows are not encoded again
    shutil.copytree(small_store / "cache", d / "store" / "cache", ignore=shutil.ignore_patterns("onnx"))
    Engine.build(
        write_catalog(d / "catalog.csv", [{"id": r["id"], "image": r["image"]} for r in rows]),
        d / "store",
        engine_config,
        BuildConfig(progress=False, auto_align=False),
    )
    return Engine.open(d / "store", engine_config), rows


def test_exact_titles_find_their_photo_as_well_as_the_cosine(photo_only):
    engine, rows = photo_only
    import numpy as np

    idx = engine.reader.vectors["aligned:image"]
    found, gal = idx.vectors_of(np.arange(len(engine.reader.products.ids)))
    title_of = {r["id"]: r["productDisplayName"].strip().lower() for r in rows}
    ids = engine.reader.products.ids
    search_hits = cosine_hits = 0
    for r in rows:
        t = r["productDisplayName"]
        search_hits += any(title_of[i] == t.strip().lower() for i in engine.search(t, k=10).ids)
        top = np.argsort(-(gal @ engine.searcher._heads_text(t)))[:10]
        cosine_hits += any(title_of[ids[d]] == t.strip().lower() for d in top)
    # chance of a title's photo in a random top 10 of 200: 0.05
    assert search_hits / len(rows) >= 0.9
    assert search_hits >= cosine_hits - 0.02 * len(rows), (search_hits, cosine_hits)


def test_warm_up_loads_what_queries_need(small_store, engine_config):
    from shoplens.preprocess.segment import jieba_tokenizer

    engine = Engine.open(small_store, engine_config)
    engine.warm_up(images=True)
    assert jieba_tokenizer.cache_info().currsize > 0  # the segmenter query understanding uses
    assert all(enc._model is not None for enc in engine.encoders.text.values())
    res = engine.search("女士 白色 T恤", k=5)
    assert res.hits and res.timings_ms["total"] < 5000

"""Exact titles through search on real photos (issue #12 item 1, titles round 4): the predicted-attribute
re-scoring yields to the cosine where the classifiers reject the cosine's own first page or cannot check
the understood words, and a title whose product type the lexicon does not know still has a title's shape."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from shoplens.config import BuildConfig
from shoplens.engine import Engine
from shoplens.search import retrieve
from shoplens.search.tuning import QualityConfig
from shoplens.search.understand import understand

from ..conftest import fashion_rows, write_catalog

pytestmark = pytest.mark.slow

BEFORE = QualityConfig(
    rescore_checked_attributes_only=False,
    rescore_agreement_depth=0,
    title_shape_without_type=False,
    attributes_available_by_asked_field=False,
)


def _cosine(engine, text: str):
    s = engine.searcher
    return retrieve.dense("text_to_image", engine.reader.vectors["aligned:image"], s._heads_text(text), 200, None)


def _rescored(engine, comp, title: str, quality: QualityConfig) -> list[int]:
    s = engine.searcher
    s.quality = quality
    try:
        return s._boost_by_predicted_attributes(comp, understand(title, s.field_map, s.lex), 0.5).docs.tolist()
    finally:
        s.quality = QualityConfig()


def test_rescoring_keeps_the_cosine_order_where_the_classifiers_reject_its_first_page(small_engine):
    s = small_engine.searcher
    comp = _cosine(small_engine, "men black shoes")  # a first page of men's black shoes
    _, emb = small_engine.reader.vectors["aligned:image"].vectors_of(comp.docs[:10])

    def agreement(title: str) -> float:
        fields = understand(title, s.field_map, s.lex).fields
        return float(np.mean(s.heads.attribute_log_probs(emb, fields, s.cfg.predicted_attribute_floors)))

    # a title asking for what none of those photos shows: the classifiers reject the whole page (a mean
    # log-likelihood far below the -1 threshold, i.e. P < 0.37 per photo), so the title's words decide
    rejected = "Zorblat Women Casual Pink Dress"
    assert agreement(rejected) < 2 * QualityConfig().rescore_min_agreement
    assert _rescored(small_engine, comp, rejected, QualityConfig()) == comp.docs.tolist()
    # before: the re-scoring reordered the page after classifiers that had rejected it all
    assert _rescored(small_engine, comp, rejected, BEFORE) != comp.docs.tolist()
    # a title whose asked attributes the page shows is re-scored as before
    agreed = "Zorblat Men Casual Black Shoes"
    assert agreement(agreed) > QualityConfig().rescore_min_agreement
    assert _rescored(small_engine, comp, agreed, QualityConfig()) == _rescored(small_engine, comp, agreed, BEFORE)


def test_only_attributes_the_classifiers_check_count_toward_rescoring(small_engine):
    s = small_engine.searcher
    # usage ("Casual") is understood but no classifier reads it off a photo
    fields = understand("Playboy Men Casual White Slippers", s.field_map, s.lex).fields
    assert fields.get("usage") == "Casual" and len(fields) == 4
    assert s._checkable_share(fields) == pytest.approx(0.75)
    assert s._checkable_share(understand("men white slippers", s.field_map, s.lex).fields) == 1.0


def test_a_title_whose_type_the_lexicon_does_not_know_keeps_a_titles_shape(small_engine):
    # gender + colour + an unknown product word ("Churidar" for the lexicon): every hit gets the
    # title-shape evidence (0.75), as "... Black Kurta" does; before, it needed a known type
    q = "Zorblat Men Solid Black Qwertyx"
    s = small_engine.searcher
    assert "type" not in understand(q, s.field_map, s.lex).fields
    now = small_engine.search(q, k=5).hits
    assert now and min(h.confidence or 0 for h in now) >= QualityConfig().kind_query_evidence
    s.quality = BEFORE
    try:
        before = small_engine.search(q, k=5).hits
    finally:
        s.quality = QualityConfig()
    # the same hits were less sure without the shape (on this titled store their title words and
    # attributes vouch for them too; on a photo-only store the shape is what keeps the page)
    was = {h.id: h.confidence or 0 for h in before}
    assert all((h.confidence or 0) > was[h.id] for h in now if h.id in was and was[h.id] < 1)
    assert any(h.id in was and was[h.id] < 1 for h in now)
    # the out-of-catalog title-shaped queries name no gender and colour together: untouched
    assert not {"gender", "colour"} <= set(understand("black office chair", s.field_map, s.lex).fields)


@pytest.fixture(scope="module")
def sparse_attributes(tmp_path_factory, engine_config, small_store):
    """20 photo-only men's products, one shoe of which carries a season and nothing else (as photo text
    gives some photo-only products one attribute); the session's feature cache spares the encoding."""
    rows = [r for r in fashion_rows(240) if r["gender"] == "Men"][:20]
    shoe = next(r for r in rows if "Shoes" in r["productDisplayName"])
    d = tmp_path_factory.mktemp("sparse_attributes")
    shutil.copytree(small_store / "cache", d / "store" / "cache", ignore=shutil.ignore_patterns("onnx"))
    cat = [{"id": r["id"], "image": r["image"], **({"season": "Summer"} if r is shoe else {})} for r in rows]
    Engine.build(
        write_catalog(d / "catalog.csv", cat), d / "store", engine_config, BuildConfig(progress=False, auto_align=False)
    )
    engine = Engine.open(d / "store", engine_config)
    yield engine, shoe["id"]
    engine.close()


def test_a_product_without_the_asked_columns_is_not_counted_against_by_the_attribute_component(sparse_attributes):
    """Modality-aware fusion divides a product's score by the weight of the components that could have
    retrieved it: `attributes` can retrieve only products carrying one of the asked columns (on the
    held-out photo-only store a product whose photo text gave it just a usage lost its title's page)."""
    engine, shoe = sparse_attributes
    r = "Zorblat Men Black Shoes"  # asks for a type; the shoe carries only a season

    def scores(text: str, quality: QualityConfig) -> dict[str, float]:
        engine.searcher.quality = quality.with_(min_confidence=0.0, min_hit_confidence=0.0)
        try:
            return {h.id: h.score for h in engine.search(text, k=20).hits}
        finally:
            engine.searcher.quality = QualityConfig()

    off = QualityConfig(attributes_available_by_asked_field=False)  # how fusion counted it before
    now, before = scores(r, QualityConfig()), scores(r, off)
    assert now[shoe] > before[shoe] * 1.05  # no longer divided by the weight of a component it could not match
    assert all(now[i] == pytest.approx(before[i]) for i in now if i != shoe)  # the rest as before

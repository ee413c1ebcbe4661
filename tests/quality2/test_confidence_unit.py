"""Confidence and attribute coverage without models: the rules a weak hit is judged by."""

from __future__ import annotations

from shoplens.records import ComponentScore, Hit
from shoplens.search.compose import attribute_coverage, caption
from shoplens.search.confidence import hit_confidence
from shoplens.search.understand import understand

MID = {"text_to_image": (0.30, 0.03)}


def _hit(**comps):
    return Hit(id="x", score=0.1, components={n: ComponentScore(s, 1, 0.01) for n, s in comps.items()})


def test_no_words_no_photo_means_no_confidence():
    c, why = hit_confidence(
        _hit(text_to_image=0.9), has_words=False, photo_query=False, predicted_match=None, midpoints=MID
    )
    assert c == 0.0 and "no words" in why


def test_evidence_combines_and_the_strongest_is_named():
    c, why = hit_confidence(
        _hit(bm25=3.2, text_to_image=0.1),
        has_words=True,
        photo_query=False,
        predicted_match=None,
        midpoints=MID,
        lexical_share=1.0,
    )
    assert c == 1.0 and "words occur" in why
    half, _ = hit_confidence(
        _hit(bm25=3.2), has_words=True, photo_query=False, predicted_match=None, midpoints=MID, lexical_share=0.5
    )
    assert half == 0.25  # one word of two ("graphics card" vs a graphic T-shirt) is weak evidence
    c, why = hit_confidence(
        _hit(text_to_image=0.2), has_words=True, photo_query=False, predicted_match=0.8, midpoints=MID
    )
    assert 0.8 < c < 0.81 and "photo shows" in why and "+1 weaker" in why  # noisy-OR with a cosine of 0.2
    low, _ = hit_confidence(
        _hit(text_to_image=0.2), has_words=True, photo_query=False, predicted_match=None, midpoints=MID
    )
    high, _ = hit_confidence(
        _hit(text_to_image=0.4), has_words=True, photo_query=False, predicted_match=None, midpoints=MID
    )
    assert low < 0.05 < 0.95 < high


def test_photo_queries_vouch_for_what_the_photo_found():
    c, why = hit_confidence(_hit(image=0.7), has_words=False, photo_query=True, predicted_match=None, midpoints=MID)
    assert c == 1.0 and "photo" in why


def _cov(text):
    u = understand(text)
    return attribute_coverage(text, u.residual, len(u.fields))


def test_coverage_separates_attribute_queries_from_specific_titles():
    assert _cov("men black shoes") == 1.0
    assert _cov("男士 黑色 运动鞋") == 1.0
    assert _cov("looking for black shoes for a man") == 1.0  # fillers are not content
    title = _cov("Puma Men Grey Ferrari Track Shoes")
    assert 0.3 < title < 0.7
    assert _cov("garden hose") == 0.0


def test_caption_orders_fields_as_the_heads_were_trained():
    assert caption({"type": "shoes", "colour": "White", "gender": "Men"}).split()[0] == "men"


def test_a_title_shaped_query_vouches_for_its_page():
    """A product type plus another attribute (a title's shape) is evidence however much of the query
    brand and model words are; without it the same weak hit stays below the page threshold."""
    weak = dict(has_words=True, photo_query=False, predicted_match=None, midpoints=MID, coverage=0.5, vocabulary=True)
    without, _ = hit_confidence(_hit(text_to_image=0.2), **weak)
    with_it, why = hit_confidence(_hit(text_to_image=0.2), **weak, kind_evidence=0.8)
    assert without < 0.4 <= 0.8 <= with_it and "product type" in why


def test_a_cosine_adds_to_the_other_evidence_as_the_midpoint_fit_assumes():
    """benchmarks/bench_quality2.py --only midpoints scores pages by the hits' confidence without the
    cosine, noisy-OR'd with cosine_evidence: that must be what hit_confidence gives with the cosine."""
    from shoplens.search.confidence import cosine_evidence, noisy_or

    kw = dict(has_words=True, photo_query=False, predicted_match=0.3, coverage=0.5, vocabulary=True)
    for cos in (0.25, 0.29, 0.31, 0.5):
        hit = _hit(text_to_image=cos)
        without, _ = hit_confidence(hit, midpoints={}, **kw)
        with_it, _ = hit_confidence(hit, midpoints=MID, **kw)
        assert abs(with_it - noisy_or([without, cosine_evidence(cos, *MID["text_to_image"])])) < 1e-9
    assert cosine_evidence(-1e6, 0.3, 0.01) < 1e-20 and cosine_evidence(0.3, 0.3, 0.01) == 0.5

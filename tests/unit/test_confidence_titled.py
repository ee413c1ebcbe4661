"""The e5 evidence on stores with titles (search/confidence.py): a Chinese query against a Chinese
title reads its own midpoint, and when the photos were searched for the words, e5 vouches only as far
as they agree."""

from __future__ import annotations

from shoplens.records import ComponentScore, Hit
from shoplens.search.confidence import hit_confidence, hit_midpoints, photo_agreement

MIDS = {"text_dense:e5": (0.82, 0.01), "text_to_image": (0.44, 0.01)}
ZH = {"text_dense:e5": (0.87, 0.01)}
PHOTOS = {"text_dense:e5": (0.80, 0.01)}


def _hit(**comps):
    return Hit(id="x", score=0.1, components={n: ComponentScore(s, 1, 0.01) for n, s in comps.items()})


def test_only_a_chinese_query_against_a_chinese_title_reads_the_chinese_midpoint():
    assert hit_midpoints(MIDS, ZH, "绿茶", "男士红色凉鞋")["text_dense:e5"] == (0.87, 0.01)
    assert hit_midpoints(MIDS, ZH, "绿茶", "男士红色凉鞋")["text_to_image"] == (0.44, 0.01)
    for query, title in [
        ("绿茶", "Puma Men Black Shoes"),
        ("green tea", "男士红色凉鞋"),
        ("绿茶", None),
        (None, "男士"),
    ]:
        assert hit_midpoints(MIDS, ZH, query, title) == MIDS
    assert hit_midpoints(MIDS, {}, "绿茶", "男士红色凉鞋") == MIDS
    # with the photos voting, e5 reads the with-photos midpoint whatever the languages
    assert hit_midpoints(MIDS, ZH, "绿茶", "男士红色凉鞋", PHOTOS)["text_dense:e5"] == (0.80, 0.01)


def test_photo_agreement_follows_the_best_text_to_photo_cosine_and_is_absent_without_photos():
    low, high = [_hit(text_to_image=0.30)], [_hit(text_to_image=0.30), _hit(text_to_image=0.50)]
    assert photo_agreement(low, 0.40, 0.02) < 0.01 < 0.99 < photo_agreement(high, 0.40, 0.02)
    assert photo_agreement([_hit(**{"text_dense:e5": 0.9})], 0.40, 0.02) is None  # no photo searched
    assert photo_agreement(high, 0.0, 0.02) is None  # off


def test_e5_alone_counts_times_the_agreement_and_other_evidence_does_not():
    hit = _hit(**{"text_dense:e5": 0.86, "attributes": 1.0})
    kw = dict(has_words=True, photo_query=False, predicted_match=None, midpoints=PHOTOS)
    alone, _ = hit_confidence(_hit(**{"text_dense:e5": 0.86}), **kw, dense_agreement=0.1)
    assert 0.09 < alone < 0.11
    agreed, why = hit_confidence(_hit(**{"text_dense:e5": 0.86}), **kw, dense_agreement=1.0)
    assert agreed > 0.99 and "photos agree" not in why
    # the attribute evidence is not the text encoder's: the agreement leaves it whole
    both, _ = hit_confidence(hit, **kw, dense_agreement=0.0, coverage=1.0)
    assert both > 0.99

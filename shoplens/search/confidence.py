"""How sure search is that a hit answers the query (0..1), and why.

Every query used to return k products, so `*`, `{}` or "garden hose" in a fashion shop got a full
page. A hit's confidence combines its pieces of evidence (noisy-OR: 1 - prod(1 - e)):
* the query's words occur in its text (BM25) -> 1;
* the query's words are printed in its photo (OCR, share of them);
* its catalog attributes carry the understood ones (share of them);
* what the heads read from its photo matches the understood type/gender (their probability);
* the query's words are attributes the shop knows (half, times how much of the query they are);
* the query reads like one of the shop's product titles: it names a product type the shop sells
  and another attribute ("Puma Men Grey Ferrari Track Shoes": brand and model words the store
  cannot know, but a men's grey shoe it can) -> `QualityConfig.kind_query_evidence`, however
  much of the query the brand and model words are;
* a photo query found it (photo and words queries included) -> 1;
* otherwise its dense similarity, squashed by a logistic whose midpoint is where in-catalog and
  out-of-catalog queries separate (`QualityConfig.cosine_midpoints`, measured by
  benchmarks/bench_quality2.py); the text encoders' (`text_dense:*`) times how far the photos agree
  when the words were searched among them too (e5 puts "garden hose" as near a fashion title as
  "walet"; the photos tell them apart: benchmarks/bench_nothing_titled.py).
A query with no word or number in it (punctuation, NUL, emoji) and no photo has no evidence at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..preprocess.text import has_cjk
from ..records import Hit

PHOTO_COMPONENTS = ("image", "image_to_text", "photo_and_words", "image_to_video")


def _squash(x: float, mid: float, scale: float) -> float:
    z = (x - mid) / max(scale, 1e-6)
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def cosine_evidence(cos: float, mid: float, scale: float) -> float:
    """What a dense similarity alone says (0..1): a logistic around the midpoint where in-catalog and
    out-of-catalog queries separate (benchmarks/bench_quality2.py --only midpoints fits it)."""
    return _squash(cos, mid, scale)


def noisy_or(values) -> float:
    """Independent pieces of evidence (each 0..1) combined: 1 - prod(1 - v)."""
    return 1.0 - float(np.prod([1.0 - min(1.0, max(0.0, float(v))) for v in values]))


def hit_midpoints(
    midpoints: dict[str, tuple[float, float]],
    chinese: dict[str, tuple[float, float]],
    query: str | None,
    title: str | None,
    with_photos: dict[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """The midpoints for one hit: e5 puts any two Chinese texts closer than two English ones or a
    Chinese and an English one, so a Chinese query against a Chinese title needs its own midpoint
    (`QualityConfig.cosine_midpoints_chinese`); when the photos vote too (`photo_agreement`), e5
    reads `with_photos` instead (both fitted by benchmarks/bench_nothing_titled.py)."""
    return query_midpoints(midpoints, chinese, query, with_photos)(title)


def query_midpoints(
    midpoints: dict[str, tuple[float, float]],
    chinese: dict[str, tuple[float, float]],
    query: str | None,
    with_photos: dict[str, tuple[float, float]] | None = None,
) -> Callable[[str | None], dict[str, tuple[float, float]]]:
    """`hit_midpoints` for every hit of one query (title -> midpoints): the query is read and each of
    the (at most two) merged tables built once, not once per judged hit (2k+10 of them)."""
    if with_photos:
        merged = {**midpoints, **with_photos}
        return lambda title: merged
    if not (chinese and has_cjk(query)):
        return lambda title: midpoints
    zh = {**midpoints, **chinese}
    return lambda title: zh if has_cjk(title) else midpoints


def photo_agreement(hits: list[Hit], mid: float, scale: float) -> float | None:
    """How far the photos agree that the shop sells what the words ask (0..1): a logistic of the best
    `text_to_image` cosine among the hits around `mid`; None when off (mid 0) or when no photo was
    searched for the words (a store without aligned photos: the text encoders alone decide)."""
    cos = [float(h.components["text_to_image"].score) for h in hits if "text_to_image" in h.components]
    if mid <= 0 or not cos:
        return None
    return _squash(max(cos), mid, scale)


def hit_confidence(
    hit: Hit,
    *,
    has_words: bool,
    photo_query: bool,
    predicted_match: float | None,
    midpoints: dict[str, tuple[float, float]],
    lexical_share: float = 0.0,
    coverage: float = 1.0,
    vocabulary: bool = False,
    kind_evidence: float = 0.0,
    photo_text_share: float = 0.0,
    dense_agreement: float = 1.0,
) -> tuple[float, str]:
    """(confidence, the evidence it rests on) for one hit. `lexical_share`: share of the query's
    words found in the hit's title; `coverage`: share of the query the understood attributes
    explain (an attribute match on "office" says little about "office desk"); `vocabulary`: the
    query names attributes the shop knows (its words are the catalog's own vocabulary), which holds
    however unsure the classifiers are about this photo (boys' shoes look like men's), worth half
    a checked match. `kind_evidence`: the query names a product type and another attribute (a
    title's shape), worth this much for every hit. `dense_agreement` (0..1): how far the photos agree
    with the text encoders (`photo_agreement`); their `text_dense:*` evidence counts times it."""
    if not has_words and not photo_query:
        return 0.0, "the query has no words to match"
    found: list[tuple[float, str]] = []
    comps = hit.components

    def take(value: float, reason: str) -> None:
        if value > 0:
            found.append((min(1.0, float(value)), reason))

    if photo_query and any(c in comps for c in PHOTO_COMPONENTS):
        take(1.0, "found by the query photo")
    if "bm25" in comps and comps["bm25"].score > 0 and lexical_share > 0:
        take(lexical_share**2, f"{lexical_share:.0%} of the query's words occur in its title")
    if "ocr" in comps and photo_text_share > 0:
        take(photo_text_share**2, f"{photo_text_share:.0%} of the query's words are printed in its photo")
    c2 = coverage**2
    if "attributes" in comps:
        share = float(comps["attributes"].score)
        take(share * c2, f"its attributes carry {share:.0%} of the understood ones ({coverage:.0%} of the query)")
    if predicted_match is not None:
        take(
            predicted_match * c2,
            f"its photo shows the understood type/gender (p={predicted_match:.2f}, {coverage:.0%} of the query)",
        )
    if vocabulary:
        take(0.5 * c2, f"the query is {coverage:.0%} attributes the shop knows")
    take(kind_evidence, "the query names a product type and attributes the shop sells")
    for name, (mid, scale) in midpoints.items():
        if name in comps:
            cos = float(comps[name].score)
            agree = dense_agreement if name.startswith("text_dense:") else 1.0
            take(
                _squash(cos, mid, scale) * agree,
                f"{name} similarity {cos:.3f} (midpoint {mid:.3f}"
                + (f", photos agree {agree:.2f})" if agree < 1.0 else ")"),
            )
    if not found:
        return 0.0, "no evidence"
    # Independent pieces of evidence combine as a noisy-OR: an exact title whose words are half
    # attributes, whose photo the classifiers half recognise and whose cosine is middling is a
    # surer hit than any one of these says alone.
    found.sort(key=lambda e: -e[0])
    conf = noisy_or(v for v, _ in found)
    why = found[0][1] + (f" (+{len(found) - 1} weaker signs)" if len(found) > 1 else "")
    return conf, why

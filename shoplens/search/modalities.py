"""Retrieval components for customer reviews (videos use `retrieve.dense` on their own fields)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..records import Hit
from ..store.products import ProductTable
from ..store.reviews import ReviewIndex
from .fuse import Ranked


def reviews_component(
    index: ReviewIndex,
    qenc: Any,
    text: str,
    n: int,
    allowed: np.ndarray | None,
    extra_tokens: Sequence[str],
    snippets: dict[int, int],
    min_cosine: float = -1.0,
    comps: list[Ranked] | None = None,
) -> Ranked:
    """Products whose reviews match the query (BM25 and e5 over single reviews); fills `snippets`
    (doc -> index of the matching review, resolved to its text by the caller's product table)."""
    encoder = "e5" if "e5" in qenc.text else next(iter(qenc.text))
    match = index.search(text, qenc.text_vec(encoder, text), n, allowed, list(extra_tokens), min_cosine=min_cosine)
    for d, j in zip(match.docs.tolist(), match.review.tolist()):
        snippets[d] = j
    if comps is not None:
        _extend_bm25(comps, match.lexical)
    return Ranked("reviews", match.docs, match.scores)


def _extend_bm25(comps: list[Ranked], review_docs: np.ndarray) -> None:
    """Products whose reviews hold the query's words join the `bm25` list *after* every title
    match (score 0: no title word matched): review words never outrank a title, yet a product
    whose bland title matches nothing is not counted as a bm25 miss when its reviews match."""
    at = next((i for i, c in enumerate(comps) if c.name == "bm25"), None)
    if at is None or not len(review_docs):
        return
    bm = comps[at]
    extra = review_docs[~np.isin(review_docs, bm.docs)]
    if not len(extra):
        return
    ranks = bm.ranks if bm.ranks is not None else np.arange(1, len(bm.docs) + 1)
    comps[at] = Ranked(
        "bm25",
        np.concatenate([bm.docs, extra]).astype(np.int64),
        np.concatenate([bm.scores, np.zeros(len(extra), np.float32)]),
        np.concatenate([ranks, len(bm.docs) + np.arange(1, len(extra) + 1)]).astype(np.int64),
    )


def add_snippets(hits: list[Hit], docs: Sequence[int], snippets: dict[int, int], table: ProductTable) -> None:
    """Each hit the reviews component found gets the text of its matching review."""
    want = [d for h, d in zip(hits, docs) if d in snippets and "reviews" in h.components]
    got = table.get(want) if want else {}
    for h, d in zip(hits, docs):
        p = got.get(d)
        if p is not None and snippets[d] < len(p.reviews):
            h.snippet = p.reviews[snippets[d]]


def rank_among(comp: Ranked, reference: Ranked | None) -> Ranked:
    """Ranks for a video component as if its candidates were in the photo component of the same
    space (`text_to_image` for `text_to_video`, `image` for `image_to_video`): a store with three
    videos would otherwise rank them 1, 2, 3 for every query, and modality-aware fusion would lift
    those ranks to the top of every page. Without photos to compare with, ranks stay 1..n."""
    if reference is None or not len(reference.scores) or not len(comp.scores):
        return comp
    merged = np.sort(np.concatenate([reference.scores, comp.scores]).astype(np.float64))
    ranks = 1 + len(merged) - np.searchsorted(merged, comp.scores.astype(np.float64), side="right")
    return Ranked(comp.name, comp.docs, comp.scores, ranks.astype(np.int64))

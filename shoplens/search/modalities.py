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
) -> Ranked:
    """Products whose reviews match the query (BM25 and e5 over single reviews); fills `snippets`
    (doc -> index of the matching review, resolved to its text by the caller's product table)."""
    encoder = "e5" if "e5" in qenc.text else next(iter(qenc.text))
    match = index.search(text, qenc.text_vec(encoder, text), n, allowed, list(extra_tokens), min_cosine=min_cosine)
    for d, j in zip(match.docs.tolist(), match.review.tolist()):
        snippets[d] = j
    return Ranked("reviews", match.docs, match.scores)


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

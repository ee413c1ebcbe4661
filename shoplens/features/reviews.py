"""Customer reviews -> one e5 passage vector per review and a rating-weighted mean per product.

Every review is encoded on its own (cached by its text: a changed review file re-encodes only the
reviews that changed), so search can match the one review that says what a product is for and show
it as the snippet. The per-product mean (`E_review`, the ranker's review vector) weighs a review by
1 + its rating (an unrated one as a 3): praise says more about what a product is good at.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..encoders.base import Encoder, l2_normalise
from ..records import Product
from .cache import FeatureCache

UNRATED = 3.0


@dataclass
class ReviewFeatures:
    encoder: str | None = None
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # (product row, review index)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # one per review
    mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # per product
    has: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    representative: dict[int, int] = field(default_factory=dict)  # product row -> review nearest its mean


def review_weights(p: Product) -> np.ndarray:
    ratings = p.review_ratings or (None,) * len(p.reviews)
    return np.array([1.0 + (UNRATED if r is None else float(r)) for r in ratings], np.float32)


def encode_reviews(
    products: Sequence[Product], encoders: dict[str, Encoder], cache: FeatureCache, batch_size: int, progress=None
) -> tuple[ReviewFeatures, dict[str, float]]:
    """Reviews through e5 (or the first text encoder when e5 is not configured), passage mode."""
    rf = ReviewFeatures(has=np.zeros(len(products), bool))
    name = "e5" if "e5" in encoders else next(iter(encoders), None)
    if name is None:
        return rf, {}
    enc = encoders[name]
    rows = [(i, j) for i, p in enumerate(products) for j in range(len(p.reviews))]
    rf.encoder = name
    rf.mean = np.zeros((len(products), enc.dim), np.float32)
    if not rows:
        rf.vectors = np.zeros((0, enc.dim), np.float32)
        return rf, {}
    t0 = time.perf_counter()
    texts = [products[i].reviews[j] for i, j in rows]
    rf.vectors = cache.encode_texts(enc, texts, "passage", batch_size, progress)
    rf.rows = np.asarray(rows, np.int64)
    start = 0
    for i, p in enumerate(products):
        k = len(p.reviews)
        if not k:
            continue
        v = rf.vectors[start : start + k]
        m = l2_normalise((review_weights(p)[:, None] * v).sum(axis=0))
        rf.mean[i] = m
        rf.has[i] = True
        rf.representative[i] = int(np.argmax(v @ m))
        start += k
    return rf, {f"reviews:{name}": time.perf_counter() - t0}

"""`recommend(user)`: the shopper's recent items -> co-view neighbours, their profile's nearest
products, popular items as fill, fused by weighted reciprocal-rank fusion.

`recommend_items` works on item ids only (no store needed), so the diginetica benchmark calls
the very function `Engine.recommend` calls, with the same configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..config import RecommendConfig
from ..records import ComponentScore
from ..search.fuse import Ranked, rrf
from .coview import CoViewModel, recent_items
from .sessions import Interaction


@dataclass
class Recommended:
    item: str
    score: float
    components: dict[str, ComponentScore]


def fuse_ranked(
    sources: dict[str, Sequence[tuple[str, float]]], weights: dict[str, float], rrf_k: int
) -> list[Recommended]:
    """RRF over lists of (item id, score), best first; ids become temporary ints for `search.fuse.rrf`."""
    index: dict[str, int] = {}
    comps = []
    for name, ranked in sources.items():
        docs = np.asarray([index.setdefault(i, len(index)) for i, _ in ranked], np.int64)
        comps.append(Ranked(name, docs, np.asarray([s for _, s in ranked], np.float64)))
    order, fused, parts = rrf(comps, weights, rrf_k)
    ids = list(index)
    return [Recommended(ids[d], fused[d], parts[d]) for d in order]


def recommend_items(
    model: CoViewModel,
    history: Sequence[Interaction],
    k: int,
    cfg: RecommendConfig,
    *,
    profile: Sequence[tuple[str, float]] = (),
    keep: Callable[[str], bool] | None = None,
) -> list[Recommended]:
    """Items for a shopper with this history (oldest first). Items they bought are never offered
    again; `keep` drops items the caller cannot show (not in the catalog, filtered out);
    `profile` is the profile side's ranked (id, cosine), already computed by the caller."""
    bought = {e.item for e in history if e.action == "purchase"}
    pool = max(k * 5, 100)

    def ok(ranked):
        return [(i, s) for i, s in ranked if i not in bought and (keep is None or keep(i))]

    sources = {
        "coview": ok(model.neighbours(history, pool, exclude=bought)),
        "recent": ok(recent_items(history, cfg.history_items)),
        "profile": ok(profile),
        "popular": ok(model.popular(pool + len(bought), exclude=bought)),
    }
    fused = fuse_ranked({n: r for n, r in sources.items() if r}, cfg.weights, cfg.rrf_k)
    return fused[:k]

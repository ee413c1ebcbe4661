"""Bounded exploration of logged pages (FairPairs, Radlinski & Joachims 2006).

Before a ranker exists every search of one query text shows the same order, so the log sees each
product at one position per query and a click model cannot tell "examined because it was high" from
"clicked because it is appealing" (examination and attractiveness only appear as a product). Swapping
random adjacent pairs on a small share of the logged pages shows the same products one position up or
down: the position-based click model fitted on the log (`evaluate.clicks.fit_pbm`, attractiveness per
query text) then sees each product at several positions and can identify the examination curve.

A swap moves a product by one position at most, inside the top `depth`, and never touches the first
position unless asked: the cost to the shopper is bounded (measured in benchmarks/bench_ranker.py
`--explore`). The caller logs the order that was actually shown.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Exploration:
    """How one logged page was shown: `order[p]` is the ranked index shown at position p; `pairs` the
    first position of every adjacent pair that was up for a swap (swapped or not: the unswapped ones are
    the other half of the randomised comparison that identifies the examination curve)."""

    order: list[int]
    pairs: list[int]

    @property
    def swapped(self) -> list[int]:
        return [p for p in self.pairs if self.order[p] != p]

    def apply(self, items: list[T]) -> list[T]:
        return [items[i] for i in self.order]

    def log_attributes(self) -> dict[str, Any]:
        """What the log keeps (query_attributes.explored): training reads the pairs back."""
        return {"pairs": self.pairs, "swapped": self.swapped}


def fair_pairs(n: int, rng: random.Random, depth: int = 10, keep_first: bool = True) -> Exploration:
    """Positions [start, min(n, depth)) cut into adjacent pairs (from a random offset, so that each
    boundary can be swapped), each pair swapped with probability 1/2. `start` is 1 when `keep_first`
    (the top hit stays), else 0. Deterministic for a seeded `rng`."""
    order = list(range(n))
    start = 1 if keep_first else 0
    end = min(n, depth)
    pairs = list(range(start + rng.randrange(2), end - 1, 2))
    for i in pairs:
        if rng.random() < 0.5:
            order[i], order[i + 1] = order[i + 1], order[i]
    return Exploration(order, pairs)


def explore_order(
    n: int, rng: random.Random, probability: float, depth: int = 10, keep_first: bool = True
) -> Exploration | None:
    """With `probability`, a FairPairs exploration of a page of `n` hits (possibly with no pair swapped:
    it is logged all the same); otherwise None: the page is shown as ranked and logged as not explored."""
    if probability <= 0 or rng.random() >= probability:
        return None
    ex = fair_pairs(n, rng, depth, keep_first)
    return ex if ex.pairs else None

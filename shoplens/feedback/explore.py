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


def fair_pairs(n: int, rng: random.Random, depth: int = 10, keep_first: bool = True) -> list[int]:
    """A permutation of range(n): positions [start, min(n, depth)) cut into adjacent pairs (from a
    random offset, so that each boundary can be swapped), each pair swapped with probability 1/2.
    `start` is 1 when `keep_first` (the top hit stays), else 0. Deterministic for a seeded `rng`."""
    order = list(range(n))
    start = 1 if keep_first else 0
    end = min(n, depth)
    i = start + rng.randrange(2)
    while i + 1 < end:
        if rng.random() < 0.5:
            order[i], order[i + 1] = order[i + 1], order[i]
        i += 2
    return order


def explore_order(
    n: int, rng: random.Random, probability: float, depth: int = 10, keep_first: bool = True
) -> list[int] | None:
    """With `probability`, a FairPairs permutation of a page of `n` hits; otherwise (or when nothing
    moved) None: the page is shown as ranked."""
    if probability <= 0 or n < 2 or rng.random() >= probability:
        return None
    order = fair_pairs(n, rng, depth, keep_first)
    return order if order != list(range(n)) else None


def swapped_positions(order: list[int]) -> list[int]:
    """0-based positions whose product moved (logged with the search, so exploration can be audited)."""
    return [p for p, i in enumerate(order) if p != i]

"""Bounded exploration of logged pages (feedback/explore.py): FairPairs swaps, reproducible with a seed."""

import random

from shoplens.feedback.explore import explore_order, fair_pairs, swapped_positions


def test_fair_pairs_is_seeded_bounded_and_keeps_the_first_hit():
    orders = [fair_pairs(30, random.Random(s), depth=10) for s in range(200)]
    assert orders[:20] == [fair_pairs(30, random.Random(s), depth=10) for s in range(20)]  # same seed, same swaps
    for order in orders:
        assert sorted(order) == list(range(30)) and order[0] == 0  # a permutation; the top hit stays
        assert all(abs(p - i) <= 1 for p, i in enumerate(order))  # nothing moves by more than one
        assert order[10:] == list(range(10, 30))  # only the top `depth` are touched
    # every boundary inside [1, 10) gets swapped sometimes (both pair offsets are drawn); none outside
    swapped = {p for o in orders for p in swapped_positions(o)}
    assert swapped == set(range(1, 10))
    # each pair is swapped with probability 1/2: position 1 moves in about a quarter of the pages
    # (offset 0 half the time x a swap half the time); 200 pages, so 50 expected, chance of < 25 is tiny
    assert 25 <= sum(o[1] != 1 for o in orders) <= 80
    assert {p for s in range(200) for p in swapped_positions(fair_pairs(30, random.Random(s), 10, False))} == set(
        range(10)
    )


def test_explore_order_explores_the_configured_share_only():
    rng = random.Random(7)
    picks = [explore_order(10, rng, 0.2) for _ in range(1000)]
    explored = [o for o in picks if o is not None]
    # a page is picked with 0.2 and then changes unless every coin came up "keep" (1/32 or 1/16)
    assert 150 <= len(explored) <= 250
    assert all(o != list(range(10)) and o[0] == 0 for o in explored)
    assert all(explore_order(10, rng, 0.0) is None for _ in range(100))
    assert explore_order(1, rng, 1.0) is None  # nothing to swap
    assert swapped_positions([0, 2, 1, 3]) == [1, 2]

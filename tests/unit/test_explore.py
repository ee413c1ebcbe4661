"""Bounded exploration of logged pages (feedback/explore.py): FairPairs swaps, reproducible with a seed,
and the examination curve the swaps identify (rank/harvest.py)."""

import math
import random

from shoplens.feedback.explore import explore_order, fair_pairs
from shoplens.rank.harvest import combine, swap_ratios


def test_fair_pairs_is_seeded_bounded_and_keeps_the_first_hit():
    draws = [fair_pairs(30, random.Random(s), depth=10) for s in range(200)]
    assert draws[:20] == [fair_pairs(30, random.Random(s), depth=10) for s in range(20)]  # same seed, same swaps
    for ex in draws:
        order = ex.order
        assert sorted(order) == list(range(30)) and order[0] == 0  # a permutation; the top hit stays
        assert all(abs(p - i) <= 1 for p, i in enumerate(order))  # nothing moves by more than one
        assert order[10:] == list(range(10, 30))  # only the top `depth` are touched
        assert ex.pairs in (list(range(1, 9, 2)), list(range(2, 9, 2)))  # disjoint pairs inside [1, 10)
        assert ex.swapped == [p for p in ex.pairs if order[p] == p + 1]
        assert ex.apply(list("abcdefghij" + "x" * 20))[:2] == ["a", "bc"[order[1] - 1]]
    # every boundary inside [1, 10) is up for a swap sometimes (both offsets are drawn) and swapped sometimes
    assert {p for ex in draws for p in ex.swapped} == set(range(1, 9))
    # each pair is swapped with probability 1/2: about half of all pairs up for a swap (binomial, n > 800)
    up = sum(len(ex.pairs) for ex in draws)
    assert 0.4 < sum(len(ex.swapped) for ex in draws) / up < 0.6
    assert {p for s in range(200) for p in fair_pairs(30, random.Random(s), 10, False).swapped} == set(range(9))


def test_explore_order_explores_the_configured_share_only():
    rng = random.Random(7)
    explored = [e for e in (explore_order(10, rng, 0.2) for _ in range(1000)) if e is not None]
    assert 150 <= len(explored) <= 250  # binomial(1000, 0.2): 200 +- 13
    assert all(e.order[0] == 0 and e.pairs for e in explored)
    assert any(not e.swapped for e in explored)  # a page whose coins all said "keep" is still explored
    assert all(explore_order(10, rng, 0.0) is None for _ in range(100))
    assert explore_order(1, rng, 1.0) is None  # nothing to swap
    assert explored[0].log_attributes() == {"pairs": explored[0].pairs, "swapped": explored[0].swapped}


def test_swapped_pairs_identify_the_examination_curve():
    """Clicks drawn from a position-based model (examination 0.8^k, appeal per query and product) on
    fixed per-query orders, half the pages explored: the swap estimate of each step k -> k+1 is near 0.8
    at every boundary the swaps reach (1..8; the top hit is never swapped, so boundary 0 is left out)."""
    rng = random.Random(3)
    appeal = {(q, d): rng.uniform(0.05, 0.6) for q in range(20) for d in range(10)}
    pos, clicks, pairs = [], [], []
    for _ in range(6000):
        q = rng.randrange(20)
        ex = explore_order(10, rng, 0.5)
        for p, d in enumerate(ex.order if ex else range(10)):
            pos.append(p), pairs.append(ex.pairs if ex else None)
            clicks.append(rng.random() < 0.8**p * appeal[q, d])
    ratios = swap_ratios(pos, clicks, pairs)
    assert sorted(ratios) == list(range(1, 9))
    # truth 0.8 each (a flat curve, the EM's failure on unexplored logs, would be 1.0); single steps are
    # noisy, their geometric mean is not
    assert all(0.55 < r < 1.2 for r in ratios.values()), ratios
    assert 0.75 < math.prod(ratios.values()) ** (1 / 8) < 0.85, ratios
    assert swap_ratios(pos, clicks, [None] * len(pos)) == {}  # unexplored pages say nothing
    # a model curve that is flat at the top gets the swap steps; boundary 0 keeps the model's
    flat = {p: 1.0 if p < 3 else 0.9 ** (p - 2) for p in range(10)}
    theta = combine(flat, ratios)
    assert abs(theta[0] - theta[1]) < 1e-9 and 0.6 < theta[2] / theta[1] < 1.0 and max(theta.values()) == 1.0

"""Examination by position from explored pages (FairPairs swap interventions: Radlinski & Joachims 2006,
Joachims et al. 2017 "Unbiased learning-to-rank with biased feedback").

On an explored page (feedback/explore.py) each adjacent pair (k, k+1) up for a swap was shown in the
ranked order or swapped, by a coin flip. Over those pairs the two products are equally likely at either
position, so the clicks at k+1 over the clicks at k estimate P(examined | k+1) / P(examined | k) with
appeal averaged out, whoever the shopper was and however the engine ranked. A log where every query text
always shows one order has no such comparison, and the position-based model's EM cannot tell
examination from appeal there (its curve comes out flat over the top positions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def swap_ratios(
    positions: Sequence[int], clicks: Sequence[bool], pairs: Sequence[Sequence[int] | None], min_clicks: int = 10
) -> dict[int, float]:
    """{k: P(examined | k+1) / P(examined | k)} from rows (shown position, clicked, the first positions of
    the pairs of that row's page that were up for a swap, or None for a page not explored), for the
    boundaries with at least `min_clicks` clicks on each side; the others are left out."""
    up: dict[int, int] = defaultdict(int)  # clicks at k, pair (k, k+1)
    down: dict[int, int] = defaultdict(int)  # clicks at k+1, pair (k, k+1)
    for p, y, pr in zip(positions, clicks, pairs):
        if not y or not pr:
            continue
        p = int(p)
        if p in pr:
            up[p] += 1
        elif p - 1 in pr:
            down[p - 1] += 1
    return {k: down[k] / up[k] for k in up if up[k] >= min_clicks and down[k] >= min_clicks}


def combine(theta: dict[int, float], ratios: dict[int, float]) -> dict[int, float]:
    """The model's examination curve with its step k -> k+1 replaced by the swap estimate where there is
    one (steps above 1, noise on a few clicks, count as 1), rescaled so that the most examined position
    keeps the model's value."""
    out: dict[int, float] = {}
    for p in sorted(theta):
        if p - 1 not in out:
            out[p] = theta[p]
            continue
        step = ratios.get(p - 1, theta[p] / max(theta[p - 1], 1e-9))
        out[p] = max(out[p - 1] * min(step, 1.0), 1e-4)  # a list is not looked at more further down
    scale = max(theta.values()) / max(out.values())
    return {p: v * scale for p, v in out.items()}

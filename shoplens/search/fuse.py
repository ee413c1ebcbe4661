"""Weighted reciprocal-rank fusion.

RRF needs no score calibration between BM25 and cosine similarities, which
is why it is the default; per-component weights let a shop lean on keywords
or on images without retraining anything.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..records import ComponentScore


@dataclass
class Ranked:
    """One component's candidates, best first."""

    name: str
    docs: np.ndarray
    scores: np.ndarray
    ranks: np.ndarray | None = None      # tie-aware ranks (1-based); default 1..n


def rrf(components: list[Ranked], weights: dict[str, float], k: int = 60
        ) -> tuple[list[int], dict[int, float], dict[int, dict[str, ComponentScore]]]:
    fused: dict[int, float] = {}
    parts: dict[int, dict[str, ComponentScore]] = {}
    for comp in components:
        w = float(weights.get(comp.name, 1.0))
        if w <= 0:
            continue
        ranks = comp.ranks.tolist() if comp.ranks is not None else range(1, len(comp.docs) + 1)
        for rank, doc, score in zip(ranks, comp.docs.tolist(), comp.scores.tolist()):
            c = w / (k + rank)
            fused[doc] = fused.get(doc, 0.0) + c
            parts.setdefault(doc, {})[comp.name] = ComponentScore(float(score), rank, c)
    order = sorted(fused, key=lambda d: (-fused[d], d))
    return order, fused, parts

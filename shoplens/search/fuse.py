"""Weighted reciprocal-rank fusion.

RRF needs no score calibration between BM25 and cosine similarities, which
is why it is the default; per-component weights let a shop lean on keywords
or on images without retraining anything.

Plain RRF sums votes, so a product that only has a photo (no title for BM25
or the text encoders to see) could never outrank a titled one however well
its photo matched. Fusion is therefore modality-aware: a product's sum is
divided by the weight of the components that *could* have retrieved it
(`available` masks) and scaled back to the full weight, i.e. a weighted mean
over the retrievers that apply to it. A retriever that applies but did not
return the product still counts against it.
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
    ranks: np.ndarray | None = None  # tie-aware ranks (1-based); default 1..n


def rrf(
    components: list[Ranked], weights: dict[str, float], k: int = 60, available: dict[str, np.ndarray] | None = None
) -> tuple[list[int], dict[int, float], dict[int, dict[str, ComponentScore]]]:
    """`available[name]` is a bool mask over docs: which docs that component can retrieve at all
    (missing = every doc). Without masks this is plain weighted RRF."""
    fused: dict[int, float] = {}
    parts: dict[int, dict[str, ComponentScore]] = {}
    active = [c for c in components if float(weights.get(c.name, 1.0)) > 0]
    for comp in active:
        w = float(weights.get(comp.name, 1.0))
        ranks = comp.ranks.tolist() if comp.ranks is not None else range(1, len(comp.docs) + 1)
        for rank, doc, score in zip(ranks, comp.docs.tolist(), comp.scores.tolist()):
            c = w / (k + rank)
            fused[doc] = fused.get(doc, 0.0) + c
            parts.setdefault(doc, {})[comp.name] = ComponentScore(float(score), rank, c)
    if available:
        total = sum(float(weights.get(c.name, 1.0)) for c in active)
        for doc in fused:
            can = sum(
                float(weights.get(c.name, 1.0)) for c in active if c.name not in available or available[c.name][doc]
            )
            if 0 < can < total:
                scale = total / can
                fused[doc] *= scale
                parts[doc] = {n: ComponentScore(p.score, p.rank, p.contribution * scale) for n, p in parts[doc].items()}
    order = sorted(fused, key=lambda d: (-fused[d], d))
    return order, fused, parts

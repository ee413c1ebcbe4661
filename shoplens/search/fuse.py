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

from collections.abc import Iterator, Mapping
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


class Parts(Mapping[int, dict[str, ComponentScore]]):
    """Per doc, each component's score, rank and contribution, made into records only for the docs
    a caller reads (a page), not for every fused candidate."""

    def __init__(self) -> None:
        self.raw: dict[int, list[tuple[str, float, int, float]]] = {}
        self.scale: dict[int, float] = {}
        self._made: dict[int, dict[str, ComponentScore]] = {}

    def __getitem__(self, doc: int) -> dict[str, ComponentScore]:
        made = self._made.get(doc)
        if made is None:
            s = self.scale.get(doc, 1.0)
            made = self._made[doc] = {n: ComponentScore(sc, r, c * s) for n, sc, r, c in self.raw[doc]}
        return made

    def __iter__(self) -> Iterator[int]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def rrf(
    components: list[Ranked], weights: dict[str, float], k: int = 60, available: dict[str, np.ndarray] | None = None
) -> tuple[list[int], dict[int, float], Parts]:
    """`available[name]` is a bool mask over docs: which docs that component can retrieve at all
    (missing = every doc). Without masks this is plain weighted RRF."""
    fused: dict[int, float] = {}
    parts = Parts()
    raw = parts.raw
    active = [c for c in components if float(weights.get(c.name, 1.0)) > 0]
    for comp in active:
        w = float(weights.get(comp.name, 1.0))
        name = comp.name
        ranks = comp.ranks.tolist() if comp.ranks is not None else range(1, len(comp.docs) + 1)
        for rank, doc, score in zip(ranks, comp.docs.tolist(), comp.scores.tolist()):
            c = w / (k + rank)
            fused[doc] = fused.get(doc, 0.0) + c
            entry = (name, float(score), rank, c)
            got = raw.get(doc)
            if got is None:
                raw[doc] = [entry]
            else:  # a component lists a doc once; a repeat replaces its entry, as the dict did
                got[:] = [e for e in got if e[0] != name] + [entry]
    if available:
        total = sum(float(weights.get(c.name, 1.0)) for c in active)
        masked = [(float(weights.get(c.name, 1.0)), available.get(c.name)) for c in active]
        for doc in fused:
            can = sum(w for w, m in masked if m is None or m[doc])
            if 0 < can < total:
                scale = total / can
                fused[doc] *= scale
                parts.scale[doc] = scale
    order = sorted(fused, key=lambda d: (-fused[d], d))
    return order, fused, parts

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

    def __init__(
        self, components: list[tuple[Ranked, np.ndarray, np.ndarray]], docs: list[int], scale: dict[int, float]
    ):
        self._components = components  # (component, its ranks, its contributions), weight > 0 only
        self._docs = docs
        self._scale = scale
        self._made: dict[int, dict[str, ComponentScore]] = {}

    def __getitem__(self, doc: int) -> dict[str, ComponentScore]:
        made = self._made.get(doc)
        if made is None:
            s = self._scale.get(doc, 1.0)
            made = {}
            for comp, ranks, contrib in self._components:
                at = np.flatnonzero(comp.docs == doc)
                if len(at):
                    i = int(at[-1])
                    made[comp.name] = ComponentScore(float(comp.scores[i]), int(ranks[i]), float(contrib[i]) * s)
            if not made:
                raise KeyError(doc)
            self._made[doc] = made
        return made

    def __iter__(self) -> Iterator[int]:
        return iter(self._docs)

    def __len__(self) -> int:
        return len(self._docs)


def rrf(
    components: list[Ranked], weights: dict[str, float], k: int = 60, available: dict[str, np.ndarray] | None = None
) -> tuple[list[int], dict[int, float], Parts]:
    """`available[name]` is a bool mask over docs: which docs that component can retrieve at all
    (missing = every doc). Without masks this is plain weighted RRF. Vectorised: a query fuses
    several hundred candidates per component, and Python loops over them cost milliseconds."""
    active = [c for c in components if float(weights.get(c.name, 1.0)) > 0]
    parts_in: list[tuple[Ranked, np.ndarray, np.ndarray]] = []
    for comp in active:
        w = float(weights.get(comp.name, 1.0))
        ranks = np.asarray(comp.ranks, np.int64) if comp.ranks is not None else np.arange(1, len(comp.docs) + 1)
        parts_in.append((comp, ranks, w / (k + ranks.astype(np.float64))))
    if not parts_in or not sum(len(c.docs) for c, _, _ in parts_in):
        return [], {}, Parts([], [], {})
    all_docs = np.concatenate([np.asarray(c.docs, np.int64) for c, _, _ in parts_in])
    docs, inverse = np.unique(all_docs, return_inverse=True)
    fused: np.ndarray = np.bincount(inverse, weights=np.concatenate([x for _, _, x in parts_in]), minlength=len(docs))
    scale: dict[int, float] = {}
    if available:
        ws = [float(weights.get(c.name, 1.0)) for c in active]
        total = sum(ws)
        can = np.zeros(len(docs), np.float64)
        for c, w in zip(active, ws):
            m = available.get(c.name)
            # the candidates' entries only: converting a whole mask costs ms per component at 1M products
            can = can + (w if m is None else w * np.asarray(m[docs], np.float64))
        partial = (can > 0) & (can < total)
        if partial.any():
            factor = np.ones(len(docs))
            factor[partial] = total / can[partial]
            fused = np.multiply(fused, factor, dtype=np.float64)
            scale = dict(zip(docs[partial].tolist(), factor[partial].tolist()))
    order = np.lexsort((docs, -fused))
    doc_list = docs.tolist()
    return docs[order].tolist(), dict(zip(doc_list, fused.tolist())), Parts(parts_in, doc_list, scale)

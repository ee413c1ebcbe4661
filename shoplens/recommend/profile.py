"""A shopper's taste as one vector: the decayed, action-weighted mean of the vectors of the
products they chose (clicked, put in the cart, bought).

Kept as one small function with plain inputs so that the profiles the ranker uses
(`shoplens/feedback/profiles.py`) can replace it behind the same call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .sessions import Interaction

DAY_S = 86_400.0

# ids -> (found mask, vectors), e.g. a store vector field's `vectors_of` behind an id->doc lookup
VectorsOf = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


def profile_vector(
    history: Sequence[Interaction], vectors_of: VectorsOf, half_life_days: float, now: float | None = None
) -> np.ndarray | None:
    """Unit vector, or None when none of the shopper's items has a vector in this field.

    Each event counts once (an item clicked and bought pulls twice), weighted by its action and
    halved every `half_life_days` before `now` (default: the shopper's latest event)."""
    if not history:
        return None
    now = now if now is not None else max(e.ts for e in history)
    items = list(dict.fromkeys(e.item for e in history))
    found, vecs = vectors_of(items)
    row = {item: i for i, item in enumerate(items) if found[i]}
    if not row:
        return None
    acc = np.zeros(vecs.shape[1], np.float64)
    for e in history:
        if e.item in row:
            decay = 0.5 ** (max(0.0, now - e.ts) / DAY_S / half_life_days) if half_life_days > 0 else 1.0
            acc += e.weight * decay * vecs[row[e.item]]
    norm = np.linalg.norm(acc)
    return (acc / norm).astype(np.float32) if norm > 0 else None

"""The image-similarity vector: weighted concatenation of the image encoders.

CNN features carry shape and texture and survive crops/JPEG; the colour
histogram separates same-shape items of different colours but is fragile
under colour jitter, hence its lower weight. Weights are applied to
L2-normalised parts, so each part's share of the cosine is its weight². The weights are
configuration (`IndexConfig.image_part_weights`) and a store's manifest records the ones its
vectors were made with.
"""

from __future__ import annotations

import numpy as np

from ..config import IndexConfig
from ..encoders.base import l2_normalise


def combine_image(feats: dict[str, np.ndarray], weights: dict[str, float] | None = None) -> np.ndarray:
    """`weights`: part name -> weight, over `IndexConfig`'s defaults; a part named nowhere weighs 1, 0 drops it."""
    weights = {**IndexConfig().image_part_weights, **(weights or {})}
    parts = [weights.get(n, 1.0) * l2_normalise(feats[n]) for n in sorted(feats) if weights.get(n, 1.0) > 0]
    return l2_normalise(np.concatenate(parts, axis=-1))

"""The image-similarity vector: weighted concatenation of the image encoders.

CNN features carry shape and texture and survive crops/JPEG; the colour
histogram separates same-shape items of different colours but is fragile
under colour jitter, hence its lower weight. Weights are applied to
L2-normalised parts, so each part's share of the cosine is its weight².
"""

from __future__ import annotations

import numpy as np

from ..encoders.base import l2_normalise

IMAGE_PART_WEIGHTS = {"mobilenet_v2": 1.0, "efficientnet_lite0": 1.0, "colour": 0.5}


def combine_image(feats: dict[str, np.ndarray], weights: dict[str, float] | None = None) -> np.ndarray:
    weights = {**IMAGE_PART_WEIGHTS, **(weights or {})}
    parts = [weights.get(n, 1.0) * l2_normalise(feats[n]) for n in sorted(feats) if weights.get(n, 1.0) > 0]
    return l2_normalise(np.concatenate(parts, axis=-1))

"""Each image encoder's features of stored products, cut back out of the combined `image` vectors.

The `image` field holds, per product, the concatenation of every image encoder's L2-normalised
features times its part weight (features/combine.py), re-normalised. Slicing a part out and
normalising it again gives that encoder's unit features exactly, so classifiers on the raw photo
features (align/attribute_mlp.py) run on a store without keeping a second copy of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..config import IndexConfig


def part_layout(encoders: Mapping[str, Mapping[str, Any]], part_weights: Mapping[str, float] | None) -> list:
    """[(encoder name, dim)] in the order combine_image concatenates them (sorted, weight > 0)."""
    weights = {**IndexConfig().image_part_weights, **(part_weights or {})}
    names = sorted(n for n, e in encoders.items() if e.get("modality") == "image")
    return [(n, int(encoders[n]["dim"])) for n in names if weights.get(n, 1.0) > 0]


def image_parts(vectors: np.ndarray, layout: list) -> dict[str, np.ndarray] | None:
    """encoder name -> (n, dim) unit features; None when the rows do not have the layout's width."""
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != sum(d for _, d in layout):
        return None
    out, at = {}, 0
    for name, d in layout:
        p = vectors[:, at : at + d]
        out[name] = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-9)
        at += d
    return out

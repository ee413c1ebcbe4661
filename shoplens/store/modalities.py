"""What videos and reviews add to a generation: vector fields and the review index, thumbnails.

Vector fields: `video` (pooled key-frames, combined like photos: the photo space), `aligned:video`
(the same through the heads' image tower: the shared text-image space) and `review:e5` (E_review,
each product's rating-weighted mean review vector, which the ranker reads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..config import IndexConfig
from ..features.combine import combine_image
from ..features.extract import FeatureSet
from ..fsutil import write_atomic
from .reviews import ReviewIndex

THUMBNAILS = "thumbnails.json"


def modality_fields(
    fs: FeatureSet, heads: Any | None, part_weights: dict[str, float] | None
) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    fields: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    if fs.video and fs.has_video.any():
        docs = np.flatnonzero(fs.has_video)
        fields["video"] = ("combined:" + "+".join(sorted(fs.video)), combine_image(fs.video, part_weights)[docs], docs)
        if heads is not None and all(n in fs.video for n in heads.image_inputs):
            fields["aligned:video"] = (
                f"heads:{heads.fingerprint}:image",
                heads.embed_image({n: fs.video[n][docs] for n in heads.image_inputs}),
                docs,
            )
    rf = fs.reviews
    if rf is not None and rf.encoder and rf.has.any():
        docs = np.flatnonzero(rf.has)
        fields[f"review:{rf.encoder}"] = (f"encoder:{rf.encoder}:reviews-rating-weighted-mean", rf.mean[docs], docs)
    return fields


def write_modalities(
    gen: Path, store: Path, fs: FeatureSet, cfg: IndexConfig, backend: Any = None, generation: str = ""
) -> dict[str, Any]:
    """The review index and the thumbnail map of one generation; returns what the manifest's
    ingest record says about them. `backend`/`generation`: where the generation's vectors go (the
    review vectors go there too when it is Milvus) and the name it publishes as."""
    info: dict[str, Any] = dict(fs.counts)  # videos, frames, decoded, cached (from the feature cache), reviews
    rf = fs.reviews
    if rf is not None and rf.encoder and len(rf.rows):
        ReviewIndex.build(
            gen / "reviews",
            fs.products,
            rf,
            len(fs.products),
            cfg.exact_threshold,
            cfg.hnsw_m,
            cfg.hnsw_ef_search,
            backend,
            generation,
        )
    if fs.thumbnails:
        thumbs = {
            fs.products[row].id: str(Path(path).resolve().relative_to(store.resolve()))
            for row, path in fs.thumbnails.items()
        }
        write_atomic(gen / THUMBNAILS, json.dumps(thumbs, ensure_ascii=False, sort_keys=True))
        info["products_with_video"] = int(fs.has_video.sum())
    return info

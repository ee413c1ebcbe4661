"""Videos and reviews added to a `FeatureSet` after its titles and photos are encoded."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import IndexConfig
from ..encoders.base import Encoder
from .cache import FeatureCache
from .extract import FeatureSet
from .reviews import encode_reviews
from .video import encode_videos


def add_videos_and_reviews(
    fs: FeatureSet,
    text_encoders: dict[str, Encoder],
    image_encoders: dict[str, Encoder],
    cache: FeatureCache,
    cfg: IndexConfig,
    thumbs_dir: Path | None,
    batch_size: int = 64,
) -> FeatureSet:
    t0 = time.perf_counter()
    if any(p.videos for p in fs.products):
        fs.video, fs.has_video, issues, timings, fs.thumbnails, counts = encode_videos(
            fs.products, list(image_encoders.values()), cache, cfg, thumbs_dir
        )
        fs.issues += issues
        fs.timings_s.update(timings)
        fs.counts.update({f"video_{k}": v for k, v in counts.items()})
    else:
        fs.has_video = np.zeros(len(fs.products), bool)
    t1 = time.perf_counter()
    fs.reviews, timings = encode_reviews(fs.products, text_encoders, cache, batch_size)
    fs.timings_s.update(timings)
    fs.counts["reviews"] = len(fs.reviews.rows)
    fs.timings_s["videos"] = t1 - t0
    fs.timings_s["reviews"] = time.perf_counter() - t1
    return fs

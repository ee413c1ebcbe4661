"""Product videos -> one pooled vector per image encoder, plus a thumbnail frame.

Key-frames go through the very encoders photos do, so a video's pooled vector lives in the photo
space (a query photo finds it) and, through the alignment heads' image tower, in the shared
text-image space (a query text finds it). Pooling is the mean of the frame vectors, as a product's
several photos are pooled. Each video's pooled vectors are cached by (encoder fingerprint, file
content + sampling settings): an unchanged video is neither decoded nor encoded again.

The thumbnail of a video is its most representative frame (the one nearest the pooled vector),
written once under `thumbs_dir` by the same key; a product with no photo shows it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..config import IndexConfig
from ..encoders.base import Encoder, l2_normalise
from ..errors import ConfigError
from ..fsutil import write_atomic
from ..preprocess.video import SAMPLINGS, VideoError, key_frames
from ..records import IngestIssue, Product
from .cache import FeatureCache, file_key
from .combine import combine_image

log = logging.getLogger(__name__)


def video_key(path: str, cfg: IndexConfig) -> str:
    """Content hash of the file plus the sampling settings that chose its frames."""
    how = f"{cfg.video_sampling}:{cfg.video_frames}:{cfg.video_scene_threshold}:{cfg.video_max_decode_s}"
    return hashlib.sha1(f"video\x00{file_key(path)}\x00{how}".encode()).hexdigest()


def encode_videos(
    products: Sequence[Product],
    encoders: Sequence[Encoder],
    cache: FeatureCache,
    cfg: IndexConfig,
    thumbs_dir: Path | None,
) -> tuple[dict[str, np.ndarray], np.ndarray, list[IngestIssue], dict[str, float], dict[int, str], dict[str, int]]:
    """(pooled per-encoder vectors [n, dim], has-video mask, unusable videos, timings, product row ->
    thumbnail file, counts {videos, frames, decoded})."""
    n = len(products)
    out = {e.name: np.zeros((n, e.dim), np.float32) for e in encoders}
    has = np.zeros(n, bool)
    issues: list[IngestIssue] = []
    thumbs: dict[int, str] = {}
    counts = {"videos": 0, "frames": 0, "decoded": 0, "cached": 0}
    timings = {"video:decode": 0.0, "video:encode": 0.0}
    if not encoders:
        return out, has, issues, timings, thumbs, counts
    if cfg.video_sampling not in SAMPLINGS:
        raise ConfigError(f"index.video_sampling = {cfg.video_sampling!r}: use one of {', '.join(SAMPLINGS)}")
    fps = {e.name: e.fingerprint() for e in encoders}
    for row, p in enumerate(products):
        got = 0
        for path in p.videos:
            try:
                key = video_key(path, cfg)
            except OSError as e:
                issues.append(IngestIssue(path, None, "video", f"cannot read: {e}", p.id))
                continue
            thumb = thumbs_dir / f"{key}.jpg" if thumbs_dir is not None else None
            cached = {e.name: cache.get_many(fps[e.name], [key]).get(key) for e in encoders}
            if all(v is not None for v in cached.values()) and (thumb is None or thumb.is_file()):
                vecs = {k: v for k, v in cached.items() if v is not None}
                counts["cached"] += 1
            else:
                t = time.perf_counter()
                try:
                    kf = key_frames(
                        path,
                        max_frames=cfg.video_frames,
                        sampling=cfg.video_sampling,
                        max_decode_s=cfg.video_max_decode_s,
                        scene_threshold=cfg.video_scene_threshold,
                    )
                except VideoError as e:
                    timings["video:decode"] += time.perf_counter() - t
                    issues.append(IngestIssue(path, None, "video", e.reason, p.id))
                    continue
                timings["video:decode"] += time.perf_counter() - t
                if kf.truncated:
                    log.info(
                        "%s (id %s): decoding stopped after %.1f s; frames from the start only",
                        path,
                        p.id,
                        cfg.video_max_decode_s,
                    )
                t = time.perf_counter()
                frame_vecs = {enc.name: enc.encode(kf.frames) for enc in encoders}
                timings["video:encode"] += time.perf_counter() - t
                vecs = {k: v.mean(axis=0) for k, v in frame_vecs.items()}
                for enc in encoders:
                    cache.put_many(fps[enc.name], [(key, vecs[enc.name])])
                counts["frames"] += len(kf.frames)
                counts["decoded"] += kf.decoded
                if thumb is not None:
                    combined = combine_image(frame_vecs, cfg.image_part_weights)
                    best = int(
                        np.argmax(
                            combined @ combine_image({k: v[None] for k, v in vecs.items()}, cfg.image_part_weights)[0]
                        )
                    )
                    buf = io.BytesIO()
                    kf.frames[best].save(buf, format="JPEG", quality=90)
                    thumb.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(thumb, buf.getvalue())
            counts["videos"] += 1
            for name, v in vecs.items():
                out[name][row] += v
            got += 1
            if thumb is not None and row not in thumbs:
                thumbs[row] = str(thumb)
        has[row] = got > 0
    for name in out:
        out[name][has] = l2_normalise(out[name][has])
    return out, has, issues, timings, thumbs, counts

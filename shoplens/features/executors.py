"""Where a build's encoding runs: "local" (this process) or "ray" (Ray Data actors).

Both end in the same `encode_catalog` over the same feature cache: the Ray executor only fills
the cache first (ray_executor.py), so the vectors, the image issues reported and the store
written are those of a local build.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ..config import BuildConfig, EngineConfig
from ..encoders.base import Encoder
from ..errors import ConfigError
from ..records import Product
from .cache import FeatureCache
from .extract import FeatureSet, encode_catalog

EXECUTORS = ("local", "ray")


def check_executor(name: str) -> str:
    if name not in EXECUTORS:
        raise ConfigError(f"executor {name!r}: expected one of {', '.join(EXECUTORS)} (--executor / [build] executor)")
    return name


def encode_products(
    products: Sequence[Product],
    text_encoders: Sequence[Encoder],
    image_encoders: Sequence[Encoder],
    cache: FeatureCache,
    config: EngineConfig,
    build: BuildConfig,
    onnx_dir: Path,
    progress: bool,
) -> FeatureSet:
    executor = check_executor(build.executor)
    ray_s = None
    if executor == "ray":
        from .ray_executor import EncoderSpec, fill_cache

        t0 = time.perf_counter()
        spec = EncoderSpec(
            text=tuple(config.encoders.text),
            image=tuple(config.encoders.image),
            threads=config.encoders.threads,
            batch_size=config.encoders.batch_size,
            cache_dir=str(onnx_dir),
            max_bytes=config.index.max_image_bytes,
            max_pixels=config.index.max_image_pixels,
        )
        fill_cache(products, text_encoders, image_encoders, cache, spec, build, progress)
        ray_s = time.perf_counter() - t0
    fs = encode_catalog(
        products,
        text_encoders,
        image_encoders,
        cache,
        batch_size=config.encoders.batch_size,
        progress=progress,
        max_bytes=config.index.max_image_bytes,
        max_pixels=config.index.max_image_pixels,
    )
    if ray_s is not None:
        fs.timings_s["ray:encode"] = ray_s
    return fs

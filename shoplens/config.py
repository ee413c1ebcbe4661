"""Explicit configuration objects; nothing in shoplens reads globals."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class EncoderConfig:
    """Which encoders make each vector field, and how hard to run them."""

    text: tuple[str, ...] = ("e5", "use")
    image: tuple[str, ...] = ("mobilenet_v2", "efficientnet_lite0", "colour")
    batch_size: int = 32
    threads: int = field(default_factory=default_threads)
    # Where exported .onnx files live; None => <store>/cache/onnx
    cache_dir: Path | None = None


@dataclass(frozen=True)
class IndexConfig:
    # Below this many vectors a field gets an exact (flat) index; above, HNSW.
    exact_threshold: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    max_image_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 40_000_000


@dataclass(frozen=True)
class SearchConfig:
    """Fusion settings. Weights multiply each component's reciprocal-rank term."""

    rrf_k: int = 60
    candidates: int = 200
    # text->image candidates re-scored by cosine + w * sum_f log(floor_f + (1 - floor_f) P(asked f | photo)),
    # from the heads' attribute classifiers (benchmarks/align_quality.py, photo-only held-out products).
    predicted_attribute_weight: float = 0.2
    # Fields that are a preference, not a requirement: a product in another colour is still a partial
    # match for "black shoes"; one of another type or gender is not (floor 0).
    predicted_attribute_floors: dict[str, float] = field(default_factory=lambda: {"colour": 0.3})
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "bm25": 1.0,
            "text_dense:e5": 1.0,
            "text_dense:use": 0.5,
            # 2.0 scored +2.6% NDCG on attribute queries but let look-alike photos outrank the one
            # product whose title has a rare keyword; 1.0 keeps exact words decisive.
            "text_to_image": 1.0,
            "image": 1.0,
            # Small on purpose: products with photos are ranked by photo similarity (0.5 here cost
            # augmented-photo rank-1 0.68 vs 0.96 at 0, benchmarks/bench_quality.py); modality-aware
            # fusion scales it up for text-only products, which only this component can reach.
            "image_to_text": 0.05,
            "attributes": 0.5,
        }
    )


@dataclass(frozen=True)
class EngineConfig:
    encoders: EncoderConfig = field(default_factory=EncoderConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    search: SearchConfig = field(default_factory=SearchConfig)


@dataclass(frozen=True)
class BuildConfig:
    """How `index` treats an existing store."""

    delete_missing: bool = False  # drop stored products absent from the new catalog
    rebuild: bool = False  # ignore the existing generation entirely
    auto_align: bool = True  # train heads on first build when there are enough pairs
    # Below this many image-title pairs the shipped heads (trained on 7.7k fashion pairs) are
    # used as they are; `shoplens align` trains on any store with >= AlignConfig.min_pairs.
    auto_align_min_pairs: int = 2000
    progress: bool = True

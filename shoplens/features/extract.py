"""Run the configured encoders over a product list -> `FeatureSet`.

Each image is decoded once per build and shared by all image encoders; the
next batch is decoded on a worker thread while the current one is encoded,
so decode overlaps ONNX Runtime (which itself uses both cores).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from tqdm.auto import tqdm

from ..encoders.base import ArrayImageEncoder, Encoder, l2_normalise
from ..preprocess.image import ImageError, load_image, normalise, resize_center_crop
from ..records import IngestIssue, Product
from .cache import FeatureCache, file_key


@dataclass
class FeatureSet:
    """Per-product encoder features, aligned with `products` (row i = products[i])."""

    products: list[Product]
    text: dict[str, np.ndarray] = field(default_factory=dict)  # passage vectors of Product.text()
    image: dict[str, np.ndarray] = field(default_factory=dict)  # mean of the product's image vectors
    has_text: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    has_image: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    issues: list[IngestIssue] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    # Videos and reviews (features/modalities.py): pooled key-frame vectors per image encoder, the
    # thumbnail frame of products that have a video (row -> file), per-review vectors, counts.
    video: dict[str, np.ndarray] = field(default_factory=dict)
    has_video: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    thumbnails: dict[int, str] = field(default_factory=dict)
    reviews: Any = None  # features.reviews.ReviewFeatures
    counts: dict[str, int] = field(default_factory=dict)
    # Text read from the product's photos (features/ocr.py; '' = none) and its passage vectors.
    photo_text: list[str] = field(default_factory=list)
    ocr: dict[str, np.ndarray] = field(default_factory=dict)
    has_ocr: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.products]


def _bar(total: int, desc: str, show: bool):
    # disable=None: bars only on a terminal (never in logs or pipes)
    return tqdm(total=total, desc=desc, unit="item", disable=True if not show or total == 0 else None, leave=False)


def encode_texts(
    products: Sequence[Product], encoders: Sequence[Encoder], cache: FeatureCache, batch_size: int, progress: bool
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, float]]:
    texts = [p.text() for p in products]
    has = np.array([bool(t) for t in texts], dtype=bool)
    out, timings = {}, {}
    for enc in encoders:
        t0 = time.perf_counter()
        with _bar(len(texts), f"encode text [{enc.name}]", progress) as bar:
            vecs = cache.encode_texts(enc, texts, "passage", batch_size, bar.update)
        vecs[~has] = 0.0
        out[enc.name] = vecs
        timings[f"text:{enc.name}"] = time.perf_counter() - t0
    return out, has, timings


def encode_images(
    products: Sequence[Product],
    encoders: Sequence[Encoder],
    cache: FeatureCache,
    batch_size: int,
    progress: bool,
    max_bytes: int,
    max_pixels: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, list[IngestIssue], dict[str, float]]:
    """Mean-pooled per-product image features; undecodable images are reported and skipped."""
    issues: list[IngestIssue] = []
    t0 = time.perf_counter()
    # (product row, path, content key); unreadable files are dropped here.
    items: list[tuple[int, str, str]] = []
    for row, p in enumerate(products):
        for path in p.images:
            try:
                items.append((row, path, file_key(path)))
            except OSError as e:
                issues.append(IngestIssue(path, None, "image", f"cannot read: {e}", p.id))
    fps = {enc.name: enc.fingerprint() for enc in encoders}
    cached = {enc.name: cache.get_many(fps[enc.name], [k for _, _, k in items]) for enc in encoders}
    todo = [i for i, (_, _, k) in enumerate(items) if any(k not in cached[e.name] for e in encoders)]
    bad: set[int] = set()
    timings: dict[str, float] = {"image:hash": time.perf_counter() - t0, "image:decode": 0.0}

    # CNN encoders take preprocessed arrays straight to ONNX Runtime; their resize/crop runs on
    # the decode thread (once per distinct input size), overlapping inference of the previous batch.
    cnns = {e.name: cast(ArrayImageEncoder, e) for e in encoders if hasattr(e, "encode_arrays") and hasattr(e, "size")}

    def decode(chunk: list[int]):
        t = time.perf_counter()
        imgs, ok = [], []
        for i in chunk:
            try:
                imgs.append(load_image(items[i][1], max_bytes=max_bytes, max_pixels=max_pixels))
                ok.append(i)
            except ImageError as e:
                issues.append(IngestIssue(items[i][1], None, "image", str(e), products[items[i][0]].id))
                bad.add(i)
        crops: dict[tuple[int, int], list[np.ndarray]] = {}
        arrays: dict[str, np.ndarray] = {}
        for enc in cnns.values():
            key = (enc.size, enc.resize)
            if key not in crops:
                crops[key] = [np.asarray(resize_center_crop(im, *key)) for im in imgs]
            if crops[key]:
                arrays[enc.name] = np.stack([normalise(c, enc.mean, enc.std) for c in crops[key]])
        return ok, imgs, arrays, time.perf_counter() - t

    chunks = [todo[s : s + batch_size] for s in range(0, len(todo), batch_size)]
    with _bar(len(items), "encode images", progress) as bar, ThreadPoolExecutor(1) as pool:
        bar.update(len(items) - len(todo))
        pending = pool.submit(decode, chunks[0]) if chunks else None
        for n in range(len(chunks)):
            assert pending is not None  # submitted for chunk n before the loop or in the last iteration
            ok, imgs, arrays, dt = pending.result()
            timings["image:decode"] += dt
            pending = pool.submit(decode, chunks[n + 1]) if n + 1 < len(chunks) else None
            for enc in encoders:
                need = [j for j, i in enumerate(ok) if items[i][2] not in cached[enc.name]]
                if not need:
                    continue
                t = time.perf_counter()
                if enc.name in arrays:
                    cnn = cnns[enc.name]
                    vecs = np.concatenate(
                        [
                            cnn.encode_arrays(arrays[enc.name][need][s : s + cnn.batch_size])
                            for s in range(0, len(need), cnn.batch_size)
                        ]
                    )
                else:
                    vecs = enc.encode([imgs[j] for j in need])
                timings[f"image:{enc.name}"] = timings.get(f"image:{enc.name}", 0.0) + time.perf_counter() - t
                keyed = [(items[ok[j]][2], v) for j, v in zip(need, vecs)]
                cache.put_many(fps[enc.name], keyed)
                cached[enc.name].update(keyed)
            bar.update(len(chunks[n]))

    n = len(products)
    out = {enc.name: np.zeros((n, enc.dim), np.float32) for enc in encoders}
    counts = np.zeros(n, np.int32)
    for i, (row, _, key) in enumerate(items):
        if i in bad:
            continue
        counts[row] += 1
        for enc in encoders:
            out[enc.name][row] += cached[enc.name][key]
    has = counts > 0
    for name in out:
        out[name][has] = l2_normalise(out[name][has])
    return out, has, issues, timings


def encode_catalog(
    products: Sequence[Product],
    text_encoders: Sequence[Encoder],
    image_encoders: Sequence[Encoder],
    cache: FeatureCache,
    *,
    batch_size: int = 32,
    progress: bool = True,
    max_bytes: int = 50 << 20,
    max_pixels: int = 40_000_000,
) -> FeatureSet:
    fs = FeatureSet(products=list(products))
    fs.text, fs.has_text, t1 = encode_texts(fs.products, text_encoders, cache, max(batch_size, 64), progress)
    fs.image, fs.has_image, fs.issues, t2 = encode_images(
        fs.products, image_encoders, cache, batch_size, progress, max_bytes, max_pixels
    )
    fs.timings_s = {**t1, **t2}
    return fs

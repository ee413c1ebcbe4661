"""Text printed in product photos, per product, through a cache keyed like the encoder features.

A photo's reading is cached by (reader fingerprint, photo content hash), gate verdicts included, so
re-indexing reads nothing twice; a photo the gate skipped in `auto` is read when the mode is `on`.
The readings are then encoded (e5 passage vectors) like product text, through the feature cache.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np

from ..encoders.base import Encoder
from ..errors import ConfigError, ImageError
from ..preprocess.image import load_image
from ..preprocess.ocr import OCR_MODES, OcrMode, OcrSettings, PhotoReader, PhotoText
from ..records import IngestIssue, Product
from .cache import FeatureCache, file_key
from .extract import FeatureSet, _bar

log = logging.getLogger(__name__)


class OcrCache:
    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ocr (fp TEXT, key TEXT, gated INTEGER, text TEXT, PRIMARY KEY (fp, key))"
        )
        self._db.commit()

    def get_many(self, fp: str, keys: Sequence[str]) -> dict[str, PhotoText]:
        out: dict[str, PhotoText] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(uniq), 900):
                chunk = uniq[i : i + 900]
                q = f"SELECT key, gated, text FROM ocr WHERE fp=? AND key IN ({','.join('?' * len(chunk))})"
                for key, gated, text in self._db.execute(q, [fp, *chunk]):
                    out[key] = PhotoText(text, bool(gated))
        return out

    def put_many(self, fp: str, items: Sequence[tuple[str, PhotoText]]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO ocr VALUES (?,?,?,?)", [(fp, k, int(t.gated), t.text) for k, t in items]
            )
            self._db.commit()

    def close(self) -> None:
        self._db.close()


def read_photos(
    products: Sequence[Product],
    reader: PhotoReader,
    cache: OcrCache,
    mode: OcrMode,
    *,
    progress: bool = True,
    max_bytes: int = 50 << 20,
    max_pixels: int = 40_000_000,
    commit_every: int = 32,
) -> tuple[list[str], list[IngestIssue], dict[str, float]]:
    """Each product's photo text (its photos' readings joined, duplicates once); '' for none.
    Unreadable photos come back as issues (the image encoders report them to the user already)."""
    t0 = time.perf_counter()
    texts = [""] * len(products)
    issues: list[IngestIssue] = []
    timings = {"ocr:gate": 0.0, "ocr:detect": 0.0, "ocr:read": 0.0, "ocr:photos": 0.0, "ocr:read_photos": 0.0}
    if mode == "off":
        return texts, issues, timings
    items: list[tuple[int, str, str]] = []
    for row, p in enumerate(products):
        for path in p.images:
            try:
                items.append((row, path, file_key(path)))
            except OSError:
                continue  # reported by the image encoders
    fp = reader.fingerprint()
    have = cache.get_many(fp, [k for _, _, k in items])
    todo = {}
    for _, path, key in items:
        got = have.get(key)
        if key not in todo and (got is None or (mode == "on" and got.gated)):
            todo[key] = path
    pending: list[tuple[str, PhotoText]] = []
    with _bar(len(todo), "read text in photos", progress) as bar:
        for key, path in todo.items():
            try:
                img = load_image(path, max_bytes=max_bytes, max_pixels=max_pixels)
            except ImageError as e:
                issues.append(IngestIssue(path, None, "image", f"not read for text: {e}"))
                continue
            t = time.perf_counter()
            side = reader.settings.gate_side if mode == "auto" else reader.settings.read_side
            bgr, boxes = reader.detect(img, side)
            timings["ocr:gate" if mode == "auto" else "ocr:detect"] += time.perf_counter() - t
            if mode == "auto" and not boxes:
                res = PhotoText("", gated=True)
            else:
                t = time.perf_counter()
                res = PhotoText(reader.recognise(bgr, boxes))
                timings["ocr:read"] += time.perf_counter() - t
                timings["ocr:read_photos"] += 1
            pending.append((key, res))
            have[key] = res
            bar.update(1)
            if len(pending) >= commit_every:  # the unit an interrupted build resumes from
                cache.put_many(fp, pending)
                pending = []
    if pending:
        cache.put_many(fp, pending)
    timings["ocr:photos"] = float(len(todo))
    per_product: list[list[str]] = [[] for _ in products]
    for row, _, key in items:
        got = have.get(key)
        if got is not None and got.text and got.text not in per_product[row]:
            per_product[row].append(got.text)
    texts = [" ".join(t) for t in per_product]
    timings["ocr:total"] = time.perf_counter() - t0
    return texts, issues, timings


def add_photo_text(
    fs: FeatureSet,
    reader: PhotoReader,
    ocr_cache: OcrCache,
    mode: OcrMode,
    text_encoders: Sequence[Encoder],
    cache: FeatureCache,
    *,
    batch_size: int = 64,
    progress: bool = True,
    max_bytes: int = 50 << 20,
    max_pixels: int = 40_000_000,
) -> None:
    """Fill `fs.photo_text` and `fs.ocr` (encoder name -> passage vectors of the photo text)."""
    texts, issues, timings = read_photos(
        fs.products, reader, ocr_cache, mode, progress=progress, max_bytes=max_bytes, max_pixels=max_pixels
    )
    fs.photo_text = texts
    fs.has_ocr = np.array([bool(t) for t in texts], dtype=bool)
    t0 = time.perf_counter()
    for enc in text_encoders:
        if not fs.has_ocr.any():
            break
        vecs = cache.encode_texts(enc, texts, "passage", batch_size)
        vecs[~fs.has_ocr] = 0.0
        fs.ocr[enc.name] = vecs
    timings["ocr:encode"] = time.perf_counter() - t0
    fs.timings_s.update(timings)
    for issue in issues:  # the image encoders already reported these photos as unusable
        log.debug("%s", issue)


def check_mode(mode: str) -> None:
    if mode not in OCR_MODES:
        raise ConfigError(f"[index] ocr = {mode!r}: must be one of {', '.join(repr(m) for m in OCR_MODES)}")


def read_photo_text_for_build(
    fs: FeatureSet,
    mode: str,
    text_encoders: dict[str, Encoder],
    encoder_names: Sequence[str],
    cache: FeatureCache,
    *,
    threads: int = 1,
    batch_size: int = 64,
    progress: bool = True,
    max_bytes: int = 50 << 20,
    max_pixels: int = 40_000_000,
) -> None:
    """What `Engine.build` runs: the store's `[index] ocr` mode, the OCR cache beside the feature cache."""
    check_mode(mode)
    if mode == "off" or not any(p.images for p in fs.products):
        return
    missing = [n for n in encoder_names if n not in text_encoders]
    if missing:
        raise ConfigError(
            f"[index] ocr_encoders names {', '.join(missing)}, which [encoders] text does not load "
            f"({', '.join(text_encoders) or 'none'}); name loaded text encoders or none"
        )
    reader = PhotoReader(OcrSettings(threads=threads))
    ocr_cache = OcrCache(cache.path.parent / "ocr.sqlite")
    try:
        add_photo_text(
            fs,
            reader,
            ocr_cache,
            cast(OcrMode, mode),
            [text_encoders[n] for n in encoder_names],
            cache,
            batch_size=batch_size,
            progress=progress,
            max_bytes=max_bytes,
            max_pixels=max_pixels,
        )
    finally:
        ocr_cache.close()
    log.info(
        "text in photos (ocr=%s): %d of %d products carry some; %d photos read, %d gated out",
        mode,
        int(fs.has_ocr.sum()),
        len(fs.products),
        int(fs.timings_s.get("ocr:read_photos", 0)),
        int(fs.timings_s.get("ocr:photos", 0) - fs.timings_s.get("ocr:read_photos", 0)),
    )

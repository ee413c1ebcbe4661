"""Text printed in product photos (brand names, claims) read with RapidOCR (PP-OCRv4, ONNX).

Full OCR costs ~10x a CNN encoding of a 224 px photo, and most fashion packshots carry no text, so
`auto` mode first runs the text detector alone on a small copy of the photo (the gate) and reads
only photos where it finds a text region. The models ship inside `rapidocr-onnxruntime`: nothing
is downloaded. The engine is loaded on first use and shared.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

OcrMode = Literal["auto", "on", "off"]
OCR_MODES: tuple[str, ...] = ("auto", "on", "off")
# Bumped when what a cached reading means changes (gate size, reading size, score filter).
OCR_VERSION = "rapidocr-1"


@dataclass(frozen=True)
class OcrSettings:
    # The gate runs the detector on the photo scaled to this longest side (multiple of 32).
    gate_side: int = 192
    # Reading scales the photo so its shorter side is at least this (the detector's input).
    read_side: int = 320
    # Recognised lines below this confidence are dropped (RapidOCR's own default is 0.5; at 0.5
    # shirt prints give fragments such as "VE", "Puna").
    min_score: float = 0.7
    threads: int = 1


@dataclass(frozen=True)
class PhotoText:
    """What one photo says: `gated` = the detector saw no text region, so nothing was read."""

    text: str
    gated: bool = False


class PhotoReader:
    """RapidOCR behind a lock (its detector keeps per-call state), loaded lazily."""

    def __init__(self, settings: OcrSettings | None = None):
        self.settings = settings or OcrSettings()
        self._engine: Any | None = None
        self._lock = threading.Lock()
        self._fp: str | None = None

    def _load(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            s = self.settings
            self._engine = RapidOCR(
                intra_op_num_threads=s.threads,
                inter_op_num_threads=1,
                det_limit_side_len=s.read_side,
                det_limit_type="min",
                text_score=s.min_score,
            )
            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        return self._engine

    def fingerprint(self) -> str:
        """Model files + settings: a cached reading is reused only when the same models read it the same way."""
        if self._fp is None:
            import rapidocr_onnxruntime

            h = hashlib.sha1(OCR_VERSION.encode())
            models = Path(rapidocr_onnxruntime.__file__).parent / "models"
            for f in sorted(models.glob("*.onnx")):
                h.update(f.name.encode())
                h.update(str(f.stat().st_size).encode())
                with open(f, "rb") as fh:
                    h.update(hashlib.sha1(fh.read(1 << 20)).digest())  # first MiB: enough to tell models apart
            s = self.settings
            h.update(f"{s.gate_side}/{s.read_side}/{s.min_score}".encode())
            self._fp = "ocr:" + h.hexdigest()[:16]
        return self._fp

    def has_text(self, img: Image.Image) -> bool:
        """The gate: does the detector find a text region on a small copy of the photo?"""
        side = self.settings.gate_side
        w, h = img.size
        scale = side / max(w, h)
        # the detector needs sides that are multiples of 32
        size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
        small = np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR))[:, :, ::-1].copy()
        eng = self._load()
        with self._lock:
            saved = eng.text_det.limit_side_len
            eng.text_det.limit_side_len = min(size)  # no upscaling inside: run at the gate size
            try:
                boxes, _ = eng.text_det(small)
            finally:
                eng.text_det.limit_side_len = saved
        return boxes is not None and len(boxes) > 0

    def read(self, img: Image.Image) -> str:
        """The photo's text lines, top to bottom, joined by spaces."""
        eng = self._load()
        with self._lock:
            result, _ = eng(img.convert("RGB"))
        if not result:
            return ""
        lines = [(box, text, float(score)) for box, text, score in result if float(score) >= self.settings.min_score]
        lines.sort(key=lambda r: (min(p[1] for p in r[0]), min(p[0] for p in r[0])))
        return " ".join(t.strip() for _, t, _ in lines if t.strip())

    def __call__(self, img: Image.Image, mode: OcrMode = "auto") -> PhotoText:
        if mode == "off":
            return PhotoText("", gated=True)
        if mode == "auto" and not self.has_text(img):
            return PhotoText("", gated=True)
        return PhotoText(self.read(img))

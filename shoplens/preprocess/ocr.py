"""Text printed in product photos (brand names, claims) read with RapidOCR (PP-OCRv4, ONNX).

Full OCR costs several CNN encodings of a 224 px photo, and most fashion packshots carry no text,
so `auto` mode runs the text detector alone on a small copy of the photo (the gate) and runs the
recogniser only on the regions it finds (no second detection, no angle classifier: product
photos print upright text). The models ship inside `rapidocr-onnxruntime`: nothing
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
OCR_VERSION = "rapidocr-2"


@dataclass(frozen=True)
class OcrSettings:
    # The gate runs the detector on the photo scaled to this longest side (multiple of 32).
    gate_side: int = 192
    # `on` runs the detector with the photo's longer side scaled to this.
    read_side: int = 320
    # Recognised lines below this confidence are dropped (RapidOCR's own default is 0.5; at 0.5
    # shirt prints give fragments such as "VE", "Puna").
    min_score: float = 0.7
    threads: int = 1
    # Text boxes lower than this many pixels (in the photo) are not read.
    min_box_height: float = 8.0


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
            h.update(f"{s.gate_side}/{s.read_side}/{s.min_score}/{s.min_box_height}".encode())
            self._fp = "ocr:" + h.hexdigest()[:16]
        return self._fp

    def detect(self, img: Image.Image, side: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text boxes found by the detector run at `side` (the photo's longer side scaled to it),
        in the coordinates of the photo; with the photo as a BGR array."""
        w, h = img.size
        scale = side / max(w, h)
        # the detector needs sides that are multiples of 32
        size = (max(32, round(w * scale / 32) * 32), max(32, round(h * scale / 32) * 32))
        bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
        small = np.ascontiguousarray(np.asarray(img.convert("RGB").resize(size, Image.Resampling.BILINEAR))[:, :, ::-1])
        eng = self._load()
        with self._lock:
            saved = eng.text_det.limit_side_len
            eng.text_det.limit_side_len = min(size)  # no resizing inside: run at this size
            try:
                boxes, _ = eng.text_det(small)
            finally:
                eng.text_det.limit_side_len = saved
        if boxes is None or len(boxes) == 0:
            return bgr, []
        sx, sy = w / size[0], h / size[1]
        out = [np.asarray(b, np.float32) * np.array([sx, sy], np.float32) for b in eng.sorted_boxes(boxes)]
        # boxes a few pixels high are texture (knit, stitching), and each costs a recogniser run
        out = [b for b in out if np.linalg.norm(b[0] - b[3]) >= self.settings.min_box_height]
        return bgr, out

    def has_text(self, img: Image.Image) -> bool:
        """The gate: does the detector find a text region on a small copy of the photo?"""
        return bool(self.detect(img, self.settings.gate_side)[1])

    def recognise(self, bgr: np.ndarray, boxes: list[np.ndarray]) -> str:
        """The text in `boxes`, top to bottom, lines joined by spaces (low-confidence lines dropped)."""
        if not boxes:
            return ""
        eng = self._load()
        with self._lock:
            crops = eng.get_crop_img_list(bgr, boxes)
            lines, _ = eng.text_rec(crops)
        return " ".join(t.strip() for t, score in lines if float(score) >= self.settings.min_score and t.strip())

    def read(self, img: Image.Image, side: int | None = None) -> str:
        """Detect (at `side`, default `read_side`) and recognise."""
        bgr, boxes = self.detect(img, side or self.settings.read_side)
        return self.recognise(bgr, boxes)

    def __call__(self, img: Image.Image, mode: OcrMode = "auto") -> PhotoText:
        """`auto`: the gate's own detection (small copy) decides and its boxes are read; `on`: the
        detector runs at `read_side`, which finds smaller print, on every photo."""
        if mode == "off":
            return PhotoText("", gated=True)
        bgr, boxes = self.detect(img, self.settings.gate_side if mode == "auto" else self.settings.read_side)
        if mode == "auto" and not boxes:
            return PhotoText("", gated=True)
        return PhotoText(self.recognise(bgr, boxes))

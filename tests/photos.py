"""Augmented product photos: what a shopper's own picture of a product looks like to the engine.

A query with the exact indexed file is ranked first by any deterministic encoder, so photo tests
query with these instead (crop 80-95%, resize, rotate +-10 degrees, colour jitter +-15%, JPEG q60-85).
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageEnhance


def augment(src: Path, out: Path, seed: int) -> Path:
    rng = random.Random(seed)
    img = Image.open(src).convert("RGB")
    w, h = img.size
    f = rng.uniform(0.80, 0.95)
    cw, ch = int(w * f), int(h * f)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = img.crop((x, y, x + cw, y + ch))
    side = rng.choice((180, 256, 320))
    img = img.resize((side, side), Image.BICUBIC)
    img = img.rotate(rng.uniform(-10, 10), resample=Image.BICUBIC, fillcolor=(255, 255, 255))
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enhancer(img).enhance(rng.uniform(0.85, 1.15))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(60, 85))
    out.write_bytes(buf.getvalue())
    return out

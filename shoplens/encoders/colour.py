"""A tiny colour descriptor for "same colour" image matches.

CNN features are largely colour-invariant (a red and a black sneaker look
alike to them), while shoppers filter hard on colour; this descriptor adds
that signal for ~1 ms per image with numpy only.

Design, tuned on the white-background catalog photos:
* background removal by "scanline carving": a near-white pixel is background
  if every pixel between it and some image border (straight left, right, up or
  down) is also near-white; the product's 1-px outline is dropped too. Packshot
  backgrounds vanish, but white regions inside the product (a white sneaker's
  upper, a watch face) are kept, which a plain "drop all white" mask would
  throw away (on 800 catalog photos, same-baseColour P@10 for White items:
  0.58 vs 0.48; over all colours 0.43 vs 0.42, chance 0.11).
* 80 bins: 72 chromatic (12 hues x 2 saturations x 3 values) for pixels with
  real hue, plus 8 grey levels for low-saturation/dark pixels, whose hue is
  noise (black, grey, silver, white are common catalog colours).
* Hellinger (sqrt) normalisation, so one dominant colour does not swamp a
  cosine, then L2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .base import Modality, TextMode, l2_normalise

_H, _S, _V, _GREY = 12, 2, 3, 8
DIM = _H * _S * _V + _GREY
_SIDE = 64  # colour needs no detail; 64x64 keeps it ~1 ms
_WHITE_MIN = 236  # all of R,G,B above this counts as packshot white
_MIN_FG = 0.01  # below this the "product" is white-on-white: use everything


def _background(rgb: np.ndarray) -> np.ndarray:
    white = rgb.min(axis=-1) >= _WHITE_MIN
    bg = np.cumprod(white, axis=1, dtype=bool)  # from the left
    bg |= np.cumprod(white[:, ::-1], axis=1, dtype=bool)[:, ::-1]
    bg |= np.cumprod(white, axis=0, dtype=bool)  # from the top
    bg |= np.cumprod(white[::-1], axis=0, dtype=bool)[::-1]
    return bg


def erode_rim(m: np.ndarray) -> np.ndarray:
    # Resizing blends the product's outline with the white background into
    # pale, desaturated pixels of no real colour; dropping the 1-px rim removes them.
    e = m.copy()
    e[1:] &= m[:-1]
    e[:-1] &= m[1:]
    e[:, 1:] &= m[:, :-1]
    e[:, :-1] &= m[:, 1:]
    return e


def colour_histogram(img: Image.Image) -> np.ndarray:
    small = img.convert("RGB")
    small = small.resize((_SIDE, _SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(small)
    fg = ~_background(rgb)
    inner = erode_rim(fg)
    fg = inner if inner.mean() >= _MIN_FG else fg
    if fg.mean() < _MIN_FG:
        fg[:] = True
    hsv = np.asarray(small.convert("HSV"))[fg].astype(np.int32)
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    grey = (s < 50) | (v < 50)  # ~0.2 in [0,1]: hue unreliable
    col = ~grey
    hb = (h[col] * _H) >> 8
    sb = np.minimum(s[col] * _S // 256, _S - 1)
    vb = np.minimum(v[col] * _V // 256, _V - 1)
    idx = np.concatenate([(hb * _S + sb) * _V + vb, _H * _S * _V + np.minimum(v[grey] * _GREY // 256, _GREY - 1)])
    hist = np.bincount(idx, minlength=DIM).astype(np.float32)
    return np.sqrt(hist / max(hist.sum(), 1.0))


class ColourHistogramEncoder:
    name = "colour"
    modality: Modality = "image"
    dim = DIM
    version = "hsv80-carve-v1"

    def __init__(self, *, threads: int = 1, batch_size: int = 32, cache_dir=None) -> None:
        del threads, batch_size, cache_dir  # numpy-only and per-image; accepted for a uniform factory

    def fingerprint(self) -> str:
        return hashlib.sha1(self.version.encode()).hexdigest()[:16]

    def encode(self, items: Sequence, *, mode: TextMode = "passage") -> np.ndarray:
        if not len(items):
            return np.zeros((0, DIM), np.float32)
        return l2_normalise(np.stack([colour_histogram(im) for im in items]))

"""Turning untrusted image files into model-ready arrays.

Catalog and query images come from merchants and users, so every failure mode
(truncated uploads, non-images, decompression bombs, odd colour modes, phone
photos stored sideways) is resolved here, once, with an error that names the
file. Encoders can then assume a fully decoded, upright RGB image.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..errors import ImageError  # noqa: F401  (re-exported)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _flatten_alpha(img: Image.Image) -> Image.Image:
    # Transparent pixels carry arbitrary RGB (often black); packshots are shot
    # on white, so compositing on white keeps cut-outs looking like the catalog.
    rgba = img.convert("RGBA")
    bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(bg, rgba).convert("RGB")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        return _flatten_alpha(img)
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # PIL's own I->L conversion clips at 255, turning 16-bit scans white.
        a = np.asarray(img, dtype=np.float32)
        hi = float(a.max()) if a.size else 0.0
        a = a * (255.0 / hi) if hi > 255 else a
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L").convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...


def load_image(src: str | Path | bytes, *, max_bytes: int = 50 * 2**20, max_pixels: int = 40_000_000) -> Image.Image:
    """Decode fully and eagerly so a bad file fails here, naming itself, not
    deep inside a batch; size limits are checked before any pixel is decoded."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        name, data = "<bytes>", bytes(src)
        if len(data) > max_bytes:
            raise ImageError(name, f"{len(data)} bytes exceeds the {max_bytes}-byte limit")
    else:
        name = str(src)
        try:
            size = os.stat(src).st_size
            if size > max_bytes:
                raise ImageError(name, f"{size} bytes exceeds the {max_bytes}-byte limit")
            with open(src, "rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as e:
            raise ImageError(name, f"cannot read file ({e.strerror or e})") from e
        if len(data) > max_bytes:  # grew between stat and read
            raise ImageError(name, f"file exceeds the {max_bytes}-byte limit")
    if not data:
        raise ImageError(name, "empty file")
    try:
        with warnings.catch_warnings():
            # Our own max_pixels is the limit; PIL's global one would only warn.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))  # header only, no pixels yet
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(
                    name, f"{w}x{h} = {w * h} pixels exceeds the {max_pixels}-pixel limit (possible decompression bomb)"
                )
            img.load()
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(name, f"exceeds the {max_pixels}-pixel limit ({e})") from e
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, struct.error...
        msg = "not a recognised image" if "cannot identify" in str(e) else f"corrupt or truncated image ({e})"
        raise ImageError(name, msg) from e
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception:
        pass  # broken EXIF is common and harmless: keep the stored orientation
    try:
        return _to_rgb(img)
    except Exception as e:
        raise ImageError(name, f"unsupported colour mode {img.mode!r} ({e})") from e


def resize_center_crop(img: Image.Image, size: int = 224, resize: int = 256) -> Image.Image:
    """torchvision's Resize(resize)+CenterCrop(size), reimplemented so the
    ImageNet-trained weights see the geometry they were trained on."""
    w, h = img.size
    if w <= h:
        nw, nh = resize, int(resize * h / w)
    else:
        nw, nh = int(resize * w / h), resize
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    left = int(round((nw - size) / 2.0))
    top = int(round((nh - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def to_array(
    img: Image.Image, *, size: int = 224, resize: int = 256, mean=IMAGENET_MEAN, std=IMAGENET_STD
) -> np.ndarray:
    """CHW float32, normalised with the statistics the target model was trained with."""
    if img.mode != "RGB":
        img = _to_rgb(img)
    return normalise(np.asarray(resize_center_crop(img, size, resize)), mean, std)


def normalise(hwc_uint8: np.ndarray, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """HWC uint8 crop -> CHW float32; split from the resize so encoders that share an input
    size resize each image once (the build does this) and only normalise separately."""
    a: np.ndarray = hwc_uint8.astype(np.float32) * (1.0 / 255.0)
    a = (a - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(a.transpose(2, 0, 1))

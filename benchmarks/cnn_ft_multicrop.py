"""True multi-crop features: MobileNetV2 re-run on zoomed crops of every shared fashion photo.

    nice .venv/bin/python benchmarks/cnn_ft_multicrop.py    # 2 extra CNN passes per photo; resumable
    nice .venv/bin/python benchmarks/cnn_ft_probe.py --tags --no-today --only mlp \
        --features multicrop=benchmarks/out/cnn_ft/multicrop.npy --out benchmarks/out/cnn_ft/probe_multicrop.json

Two square crops of 62.5% of the side (the upper and the lower part of the packshot, horizontally
centred), each resized to 224 and encoded by the shipped `mobilenet_v2` encoder (its ONNX export,
ImageNet statistics): 2 x 1280-d, kept side by side so the reader can tell top from bottom.
Writes benchmarks/out/cnn_ft/multicrop.npy (float16, load_fashion order).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT, load_fashion  # noqa: E402

from shoplens.encoders.registry import create  # noqa: E402
from shoplens.preprocess.image import load_image, normalise  # noqa: E402

DIR = OUT / "cnn_ft"
FRAC = 0.625


def crops(img: Image.Image) -> list[np.ndarray]:
    w, h = img.size
    s = int(round(FRAC * min(w, h)))
    left = (w - s) // 2
    boxes = [(left, 0, left + s, s), (left, h - s, left + s, h)]
    return [normalise(np.asarray(img.crop(b).resize((224, 224), Image.Resampling.BILINEAR))) for b in boxes]


def main() -> int:
    dest = DIR / "multicrop.npy"
    if dest.exists():
        print(f"{dest} exists")
        return 0
    products = load_fashion()
    enc = create("mobilenet_v2", threads=2, batch_size=32, cache_dir=OUT / "align_cache" / "onnx")
    (DIR / "multicrop").mkdir(parents=True, exist_ok=True)
    chunk, t0, done = 512, time.perf_counter(), 0
    for c, s in enumerate(range(0, len(products), chunk)):
        path = DIR / "multicrop" / f"{c:04d}.npy"
        if path.exists():
            continue
        part = products[s : s + chunk]
        x = np.stack([a for p in part for a in crops(load_image(p.images[0]))])
        v = np.concatenate([enc.encode_arrays(x[k : k + 32]) for k in range(0, len(x), 32)])
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, v.reshape(len(part), -1).astype(np.float16))
        os.replace(tmp, path)
        done += len(part)
        print(f"{s + len(part)}/{len(products)}; {1000 * (time.perf_counter() - t0) / done:.1f} ms/photo", flush=True)
    parts = [np.load(DIR / "multicrop" / f"{c:04d}.npy") for c in range((len(products) + chunk - 1) // chunk)]
    np.save(dest, np.concatenate(parts))
    print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

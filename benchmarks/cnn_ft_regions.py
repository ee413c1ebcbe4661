"""Region features of MobileNetV2's final map, from the cached pre-last-block maps (no photo re-read).

    nice .venv/bin/python benchmarks/cnn_ft_maps.py        # once: the frozen trunk's 160x7x7 maps
    nice .venv/bin/python benchmarks/cnn_ft_regions.py     # ~ms per photo: only features[17:] runs
    nice .venv/bin/python benchmarks/cnn_ft_probe.py --tags --features regions=benchmarks/out/cnn_ft/regions.npy

A cheap stand-in for multi-crop: the ImageNet `features[17:]` (the shipped weights, unchanged) run
on each photo's cached map, and the 1280x7x7 output average-pooled over the top 4 rows, the bottom
4 rows and the centre 5x5, plus max-pooled over the whole map (4 x 1280 = 5,120-d). Those blocks
are 1x1 convolutions and one 3x3 depthwise one, so a crop of the map is nearly the map of the
crop: this reads the upper and lower half and the centre of the product apart without encoding
any crop again (a true multi-crop would re-run the whole CNN per crop). Writes
benchmarks/out/cnn_ft/regions.npy (float16, load_fashion order).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT  # noqa: E402

from shoplens.encoders.mobilenet import load_pretrained  # noqa: E402
from shoplens.encoders.openmp import import_torch  # noqa: E402

DIR = OUT / "cnn_ft"


def main() -> int:
    dest = DIR / "regions.npy"
    if dest.exists():
        print(f"{dest} exists")
        return 0
    torch = import_torch()
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    maps = np.load(DIR / "maps.npy")
    last = load_pretrained().features[17:].eval()
    out = np.zeros((len(maps), 4 * 1280), np.float16)
    with torch.inference_mode():
        for k in range(0, len(maps), 256):
            f = last(torch.from_numpy(maps[k : k + 256].astype(np.float32)))
            parts = [f[:, :, :4].mean((2, 3)), f[:, :, 3:].mean((2, 3)), f[:, :, 1:6, 1:6].mean((2, 3)), f.amax((2, 3))]
            out[k : k + len(f)] = torch.cat(parts, 1).numpy()
    np.save(dest, out)
    print(f"wrote {dest} {out.shape} in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

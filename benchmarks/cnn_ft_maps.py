"""Cache MobileNetV2's feature map before its last blocks for every shared fashion photo, once.

    nice .venv/bin/python benchmarks/cnn_ft_maps.py        # resumable: finished chunks are kept

The input of `features[17]` (the output of `features[:17]`: 160x7x7 at 224 px) for each of the
7,710 fashion photos, through the shipped encoder's own preprocessing (`to_array`: resize 256,
centre crop 224, ImageNet mean/std) and the shipped ImageNet weights, so a fine-tuned
`features[17:]` trained on these maps computes, on a real photo, what it computed in training.
Chunks of 512 photos go to benchmarks/out/cnn_ft/maps/NNNN.npy (float16, written atomically), and
are joined into benchmarks/out/cnn_ft/maps.npy with the product ids; the time per photo (decode +
preprocess + the frozen 17 blocks) is printed and kept in maps_timing.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT, load_fashion  # noqa: E402

from shoplens.encoders.mobilenet import load_pretrained  # noqa: E402
from shoplens.encoders.openmp import import_torch  # noqa: E402
from shoplens.preprocess.image import load_image, to_array  # noqa: E402

DIR = OUT / "cnn_ft"
CUT = 17  # features[:CUT] is frozen and cached; features[CUT:] is what cnn_ft_train.py fine-tunes


def main() -> int:
    dest = DIR / "maps.npy"
    if dest.exists():
        print(f"{dest} exists")
        return 0
    torch = import_torch()
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    products = load_fashion()
    net = load_pretrained()
    trunk = net.features[:CUT].eval()
    (DIR / "maps").mkdir(parents=True, exist_ok=True)
    chunk, bs = 512, 32
    t0, done = time.perf_counter(), 0
    for c, s in enumerate(range(0, len(products), chunk)):
        path = DIR / "maps" / f"{c:04d}.npy"
        if path.exists():
            continue
        part = products[s : s + chunk]
        out = np.zeros((len(part), 160, 7, 7), np.float16)
        with torch.inference_mode():
            for b in range(0, len(part), bs):
                x = np.stack([to_array(load_image(p.images[0])) for p in part[b : b + bs]])
                out[b : b + len(x)] = trunk(torch.from_numpy(x)).numpy()
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, out)
        os.replace(tmp, path)
        done += len(part)
        el = time.perf_counter() - t0
        print(f"{s + len(part)}/{len(products)} photos; {1000 * el / done:.1f} ms/photo this run", flush=True)
    parts = [np.load(DIR / "maps" / f"{c:04d}.npy") for c in range((len(products) + chunk - 1) // chunk)]
    maps = np.concatenate(parts)
    assert len(maps) == len(products)
    np.save(DIR / "ids.npy", np.array([p.id for p in products]))
    tmp = dest.with_suffix(".tmp.npy")
    np.save(tmp, maps)
    os.replace(tmp, dest)
    if done:
        ms = 1000 * (time.perf_counter() - t0) / done
        (DIR / "maps_timing.json").write_text(json.dumps({"photos": done, "ms_per_photo": ms, "threads": 2}))
        print(f"wrote {dest} {maps.shape}: {ms:.1f} ms/photo (decode + preprocess + features[:{CUT}], torch)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

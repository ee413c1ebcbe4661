"""Cache richer CNN features of every shared fashion photo once, for the probes of cnn_probe.py.

    nice .venv/bin/python benchmarks/cnn_feature_cache.py      # ~30 min on 2 busy shared cores; cached after

One pass per photo and its mirror image on the UNCROPPED 224x224 photo (the shipped encoders
resize to 256 and centre-crop 224, which cuts 6% off every side of a packshot): MobileNetV2 final
map avg- and max-pooled plus its 96- and 160-channel stages (avg-pooled), EfficientNet-Lite0 final
map avg- and max-pooled. Original and mirror are kept apart so the probe can tell what each adds.
Writes benchmarks/out/cnn/rich_features.npz (float16).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT, load_fashion  # noqa: E402
from probe_common import backbones, onnx_session  # noqa: E402

from shoplens.preprocess.image import IMAGENET_MEAN, IMAGENET_STD, load_image, normalise  # noqa: E402

DEST = OUT / "cnn" / "rich_features.npz"
EF_MEAN, EF_STD = (127 / 255,) * 3, (128 / 255,) * 3


def sessions(tmp: Path):
    torch, MobileNetStages, EfficientNetMap = backbones()

    class MB(MobileNetStages):
        def forward(self, x):
            mid, mid2, fm = self.stages(x)
            return fm.mean(dim=(2, 3)), fm.amax(dim=(2, 3)), mid, mid2

    class EF(EfficientNetMap):
        def forward(self, x):
            fm = self.fmap(x)
            return fm.mean(dim=(2, 3)), fm.amax(dim=(2, 3))

    tmp.mkdir(parents=True, exist_ok=True)
    return (
        onnx_session(torch, MB(), ["mb_avg", "mb_max", "mb_mid13", "mb_mid16"], tmp / "mb_rich.onnx", True, 1),
        onnx_session(torch, EF(), ["ef_avg", "ef_max"], tmp / "ef_rich.onnx", True, 1),
    )


def main() -> int:
    if DEST.exists():
        print(f"{DEST} exists")
        return 0
    t0 = time.perf_counter()
    products = load_fashion()
    smb, sef = sessions(OUT / "cnn" / "onnx")
    out: dict[str, np.ndarray] = {}
    bs = 32
    for s in range(0, len(products), bs):
        chunk = [np.asarray(load_image(p.images[0]).resize((224, 224))) for p in products[s : s + bs]]
        n = len(chunk)
        for flip in (False, True):
            ims = [c[:, ::-1] for c in chunk] if flip else chunk
            a = np.stack([normalise(c, IMAGENET_MEAN, IMAGENET_STD) for c in ims])
            e = np.stack([normalise(c, EF_MEAN, EF_STD) for c in ims])
            res = dict(zip(["mb_avg", "mb_max", "mb_mid13", "mb_mid16"], smb.run(None, {"input": a}), strict=True))
            res.update(zip(["ef_avg", "ef_max"], sef.run(None, {"input": e}), strict=True))
            for k, v in res.items():
                key = k + ("_flip" if flip else "")
                out.setdefault(key, np.zeros((len(products), v.shape[1]), np.float16))[s : s + n] = v
        if s % 640 == 0:
            print(f"{s + n}/{len(products)} {time.perf_counter() - t0:.0f}s", flush=True)
    np.savez(DEST, ids=np.array([p.id for p in products]), **out)
    print(f"wrote {DEST} in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

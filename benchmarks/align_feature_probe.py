"""Would richer image features help the photo-only attribute ranking? A linear probe, no heads.

    .venv/bin/python benchmarks/align_feature_probe.py

Same held-out split and attribute queries as benchmarks/align_quality.py. For each image feature
set, softmax regressions (sklearn, C=2) predict type / gender / colour from the photo on the
training products; the held-out photos are then ranked for each query by
log P(type) + log P(gender) + log(0.3 + 0.7 P(colour)) (the re-scoring search applies) and
compared with BM25 over their titles (NDCG@10 ratio).

Feature sets: the shipped encoders (MobileNetV2 + EfficientNet-Lite0 average-pooled after a
256->224 centre crop, + colour histogram) against the same CNNs on the uncropped photo, averaged
with its mirror image, with max-pooled and two intermediate MobileNetV2 stages added.
Writes benchmarks/out/align_feature_probe.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from probe_common import backbones, block, onnx_session, probe, probe_queries  # noqa: E402

from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.preprocess.image import IMAGENET_MEAN, IMAGENET_STD, load_image, to_array  # noqa: E402


def rich_features(products) -> dict[str, np.ndarray]:
    """Uncropped + mirrored (averaged) CNN maps: avg- and max-pooled, plus MobileNetV2 stages 14 and 17."""
    from tqdm import tqdm

    torch, MB, EF = backbones()

    tmp = OUT / "probe_onnx"
    tmp.mkdir(parents=True, exist_ok=True)
    smb = onnx_session(torch, MB(), ["mid", "mid2", "fmap"], tmp / "mb.onnx")
    sef = onnx_session(torch, EF(), ["fmap"], tmp / "ef.onnx")
    out: dict[str, np.ndarray] = {}
    for s in tqdm(range(0, len(products), 32), desc="probe features", unit="batch"):
        chunk = [load_image(p.images[0]) for p in products[s : s + 32]]
        a = np.stack([to_array(im, size=224, resize=224, mean=IMAGENET_MEAN, std=IMAGENET_STD) for im in chunk])
        e = np.stack([to_array(im, size=224, resize=224, mean=(127 / 255,) * 3, std=(128 / 255,) * 3) for im in chunk])
        acc: dict[str, np.ndarray] = {}
        for flip in (False, True):
            aa, ee = (a[..., ::-1].copy(), e[..., ::-1].copy()) if flip else (a, e)
            mid, mid2, fm = smb.run(None, {"input": aa})
            (efm,) = sef.run(None, {"input": ee})
            for k, v in (
                ("mb_avg", fm.mean((2, 3))),
                ("mb_max", fm.max((2, 3))),
                ("mb_mid", mid),
                ("mb_mid2", mid2),
                ("ef_avg", efm.mean((2, 3))),
                ("ef_max", efm.max((2, 3))),
            ):
                acc[k] = acc.get(k, 0) + v / 2
        for k, v in acc.items():
            out.setdefault(k, np.zeros((len(products), v.shape[1]), np.float32))[s : s + len(v)] = v
    return out


def main() -> int:
    t0 = time.perf_counter()
    encs = make_encoders()
    products = load_fashion()
    fs = featureset(products, encs, feature_cache(), progress=False)
    rng = np.random.default_rng(0)
    usable = np.flatnonzero(fs.has_image & np.array([bool(p.title) for p in products]))
    test = np.sort(rng.choice(usable, size=int(round(0.2 * len(usable))), replace=False))
    train = np.setdiff1d(usable, test)
    attrs = [product_attributes(p, FIELD_MAP) for p in products]
    q = probe_queries(products, attrs, test)
    ref = q.reference

    rich = rich_features(products)
    sets = {
        "shipped encoders (centre crop)": [fs.image["mobilenet_v2"], fs.image["efficientnet_lite0"]],
        "uncropped + mirror, avg+max pooled, MobileNetV2 stages 14/17": [
            rich["mb_avg"],
            rich["ef_avg"],
            rich["mb_max"],
            rich["ef_max"],
            rich["mb_mid"],
            rich["mb_mid2"],
        ],
    }
    results = {}
    for name, mats in sets.items():
        Z = np.concatenate([block(m, train) for m in mats] + [block(fs.image["colour"], train)], 1)
        acc, r = probe(Z, train, test, attrs, q, max_iter=500)
        results[name] = {"dims": int(Z.shape[1]), "accuracy": acc, "ndcg10_en": r, "ratio_en": r / ref}
        print(
            f"{name}: {Z.shape[1]}-d, accuracy "
            + ", ".join(f"{k} {v:.3f}" for k, v in acc.items())
            + f"; EN NDCG@10 {r:.3f} ({r / ref:.3f}x BM25)",
            flush=True,
        )
    (OUT / "align_feature_probe.json").write_text(json.dumps({"reference_bm25_en": ref, "results": results}, indent=2))
    print(f"BM25 reference {ref:.4f}; {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

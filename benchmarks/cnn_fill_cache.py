"""Put the v2 CNN features of the 7,710 fashion photos into the alignment feature cache without
encoding them a second time (2 CPU cores shared by a team: one pass of the photos is all we spend).

    nice .venv/bin/python benchmarks/cnn_feature_cache.py   # once: the uncropped photo and its mirror
    nice .venv/bin/python benchmarks/cnn_fill_cache.py

The v2 encoders (shoplens/encoders/onnx_cnn.py) compute the average of the uncropped photo's and its
mirror image's pooled features, which is what cnn_feature_cache.py stored (float16) for each of the
two passes. Before writing anything, the real encoders encode a sample of photos through the build's
code path (features.extract.encode_catalog) and every cached vector must agree with them (cosine
>= 0.9999, i.e. float16 rounding); otherwise the script stops. The vectors are then stored under the
encoders' fingerprints and content keys, exactly where `encode_catalog` looks for them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT, feature_cache, load_fashion, make_encoders  # noqa: E402

from shoplens.encoders.base import l2_normalise  # noqa: E402
from shoplens.features.cache import FeatureCache, file_key  # noqa: E402
from shoplens.features.extract import encode_catalog  # noqa: E402

PARTS = {"mobilenet_v2": "mb_avg", "efficientnet_lite0": "ef_avg"}


def main(sample: int = 48) -> int:
    t0 = time.perf_counter()
    products = load_fashion()
    rich = np.load(OUT / "cnn" / "rich_features.npz")
    assert list(rich["ids"]) == [p.id for p in products]
    encs = make_encoders()
    vecs = {
        n: l2_normalise((rich[k].astype(np.float32) + rich[k + "_flip"].astype(np.float32)) / 2)
        for n, k in PARTS.items()
    }
    rows = np.random.default_rng(1).choice(len(products), size=sample, replace=False)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_cache = FeatureCache(Path(tmp) / "f.sqlite")
        fs = encode_catalog([products[i] for i in rows], [], [encs[n] for n in PARTS], tmp_cache, progress=False)
        tmp_cache.close()
    for n in PARTS:
        cos = (fs.image[n] * vecs[n][rows]).sum(1)
        print(f"{n}: cosine cached vs encoder on {sample} photos: min {cos.min():.6f}", flush=True)
        if cos.min() < 0.9999:
            raise SystemExit(f"{n}: cached features differ from the encoder's; not filling the cache")
    cache = feature_cache()
    keys = [file_key(p.images[0]) for p in products]
    for n in PARTS:
        cache.put_many(encs[n].fingerprint(), zip(keys, vecs[n]))
    cache.close()
    print(f"filled {len(keys)} photos x {list(PARTS)} in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

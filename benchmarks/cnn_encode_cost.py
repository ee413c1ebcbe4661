"""What the whole-photo + mirror CNN variant would cost per photo, at index time and at query time,
against the shipped encoders (same run).

    nice .venv/bin/python benchmarks/cnn_encode_cost.py --photos 256 --queries 24

v1 = shoplens' encoders (resize 256 + centre crop 224, one pass); v2 = the variant of
benchmarks/cnn_probe.py (the uncropped photo and its mirror image, averaged: two CNN passes; not
shipped: it did not lift attribute search). Both are timed the way
shoplens runs them, on distinct fashion photos and in alternating rounds so that the other
processes on a shared machine load both alike:
* index: `features.extract.encode_catalog` (decode, resize, both CNNs and the colour histogram)
  into an empty feature cache, as `shoplens index` encodes a new or upgraded store;
* query: one photo at a time through `Encoder.encode` for both CNNs, as a photo query is encoded.
Prints ms per photo, the v2/v1 ratio and the re-encode time of 10k photos (EncoderConfig threads).
Writes benchmarks/out/cnn/encode_cost.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT, load_fashion  # noqa: E402

from shoplens.config import EncoderConfig  # noqa: E402
from shoplens.encoders.colour import ColourHistogramEncoder  # noqa: E402
from shoplens.encoders.onnx_cnn import EfficientNetLite0Encoder, MobileNetV2Encoder  # noqa: E402
from shoplens.features.cache import FeatureCache  # noqa: E402
from shoplens.features.extract import encode_catalog  # noqa: E402
from shoplens.preprocess.image import load_image  # noqa: E402


class MobileNetV2Mirror(MobileNetV2Encoder):
    version, resize, mirror = "2", 224, True


class EfficientNetLite0Mirror(EfficientNetLite0Encoder):
    version, resize, mirror = "2", 224, True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=256, help="photos per version for the index timing")
    ap.add_argument("--queries", type=int, default=24, help="single-photo encodes per version")
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args(argv)
    threads = EncoderConfig().threads
    products = load_fashion()
    tmp = Path(tempfile.mkdtemp())
    versions = {
        "v1": [MobileNetV2Encoder, EfficientNetLite0Encoder],
        "v2": [MobileNetV2Mirror, EfficientNetLite0Mirror],
    }
    encs = {v: [c(threads=threads, batch_size=32, cache_dir=tmp / "onnx") for c in cs] for v, cs in versions.items()}
    colour = ColourHistogramEncoder()
    for es in encs.values():  # export + open sessions outside the timing
        for e in es:
            e.encode([load_image(products[0].images[0])])
    per_round = a.photos // a.rounds
    index_s = {v: 0.0 for v in versions}
    query_ms: dict[str, list[float]] = {v: [] for v in versions}
    nxt = 1
    for r in range(a.rounds):
        for v in versions if r % 2 == 0 else reversed(list(versions)):
            batch = products[nxt : nxt + per_round]
            nxt += per_round
            cache = FeatureCache(tmp / f"{v}-{r}.sqlite")
            t = time.perf_counter()
            encode_catalog(batch, [], [*encs[v], colour], cache, progress=False)
            index_s[v] += time.perf_counter() - t
            cache.close()
            for p in products[nxt : nxt + a.queries // a.rounds]:
                img = load_image(p.images[0])
                t = time.perf_counter()
                for e in encs[v]:
                    e.encode([img])
                query_ms[v].append((time.perf_counter() - t) * 1000)
            nxt += a.queries // a.rounds
    n = per_round * a.rounds
    res = {
        "threads": threads,
        "photos_per_version": n,
        "index_ms_per_photo": {v: index_s[v] / n * 1000 for v in versions},
        "query_ms_median": {v: float(np.median(query_ms[v])) for v in versions},
    }
    res["index_ratio"] = res["index_ms_per_photo"]["v2"] / res["index_ms_per_photo"]["v1"]
    res["query_ratio"] = res["query_ms_median"]["v2"] / res["query_ms_median"]["v1"]
    res["reencode_10k_photos_min"] = {v: res["index_ms_per_photo"][v] * 10_000 / 60_000 for v in versions}
    print(json.dumps(res, indent=2))
    (OUT / "cnn").mkdir(parents=True, exist_ok=True)
    (OUT / "cnn" / "encode_cost.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What EfficientNet-Lite2 costs per photo against Lite0 and MobileNetV2, same run.

    nice .venv/bin/python benchmarks/cnn_lite2_cost.py --photos 96 --queries 12 --rounds 3

Each CNN is timed alone, the way shoplens runs it, on distinct fashion photos and in rounds whose
order rotates, so that the other processes on a shared machine load every encoder alike:
* index: `features.extract.encode_catalog` (decode, resize + crop, the CNN) into an empty feature
  cache, as `shoplens index` encodes a new store or a store whose `[encoders] image` gained a CNN
  (the encoders it already had come from the cache);
* query: one photo through `Encoder.encode`, as a photo query is encoded.
Prints ms per photo, ratios against Lite0 and the re-encode time of 10k photos (EncoderConfig threads).
Writes benchmarks/out/cnn/lite2_cost.json.
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
from shoplens.encoders.registry import create  # noqa: E402
from shoplens.features.cache import FeatureCache  # noqa: E402
from shoplens.features.extract import encode_catalog  # noqa: E402
from shoplens.preprocess.image import load_image  # noqa: E402

NAMES = ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=96, help="photos per encoder for the index timing")
    ap.add_argument("--queries", type=int, default=12, help="single-photo encodes per encoder")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    threads = EncoderConfig().threads
    products = load_fashion()
    tmp = Path(tempfile.mkdtemp())
    onnx = OUT / "align_cache" / "onnx"  # the exports the feature cache was made with (export is not timed)
    encs = {n: create(n, threads=threads, batch_size=32, cache_dir=onnx) for n in NAMES}
    for e in encs.values():  # export + open sessions outside the timing
        e.encode([load_image(products[0].images[0])])
    per_round, q_round = a.photos // a.rounds, a.queries // a.rounds
    index_s = {n: 0.0 for n in NAMES}
    query_ms: dict[str, list[float]] = {n: [] for n in NAMES}
    nxt = 1
    for r in range(a.rounds):
        order = NAMES[r % len(NAMES) :] + NAMES[: r % len(NAMES)]
        for n in order:
            batch = products[nxt : nxt + per_round]
            nxt += per_round
            cache = FeatureCache(tmp / f"{n}-{r}.sqlite")
            t = time.perf_counter()
            encode_catalog(batch, [], [encs[n]], cache, progress=False)
            index_s[n] += time.perf_counter() - t
            cache.close()
            for p in products[nxt : nxt + q_round]:
                img = load_image(p.images[0])
                t = time.perf_counter()
                encs[n].encode([img])
                query_ms[n].append((time.perf_counter() - t) * 1000)
            nxt += q_round
        print(f"round {r + 1}/{a.rounds} done", flush=True)
    n_photos = per_round * a.rounds
    index_ms = {n: index_s[n] / n_photos * 1000 for n in NAMES}
    query_med = {n: float(np.median(query_ms[n])) for n in NAMES}
    res = {
        "threads": threads,
        "photos_per_encoder": n_photos,
        "queries_per_encoder": len(query_ms[NAMES[0]]),
        "index_ms_per_photo": index_ms,
        "query_ms_median": query_med,
        "index_ratio_vs_lite0": {n: index_ms[n] / index_ms["efficientnet_lite0"] for n in NAMES},
        "query_ratio_vs_lite0": {n: query_med[n] / query_med["efficientnet_lite0"] for n in NAMES},
        "reencode_10k_photos_min": {n: index_ms[n] * 10_000 / 60_000 for n in NAMES},
    }
    print(json.dumps(res, indent=2))
    (OUT / "cnn").mkdir(parents=True, exist_ok=True)
    (OUT / "cnn" / "lite2_cost.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

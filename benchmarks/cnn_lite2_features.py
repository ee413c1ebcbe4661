"""Encode every shared fashion photo with EfficientNet-Lite2 into the benchmark feature cache, once.

    nice -n 10 .venv/bin/python benchmarks/cnn_lite2_features.py      # ~25 min on a quiet 2-core machine

The photos go through shoplens' own `encode_catalog` and `FeatureCache` (benchmarks/out/align_cache),
keyed by the encoder's fingerprint, exactly as a store would encode them, so what the probe reads
(benchmarks/cnn_lite2_probe.py), the held-out heads train on (bench_quality2_heads.py --image-inputs)
and a benchmark store is seeded with (bench_quality2.py --image-encoders) are the same vectors.
Resumable: the cache keeps every finished batch, so a killed run continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import OUT, feature_cache, featureset, load_fashion  # noqa: E402

from shoplens.config import EncoderConfig  # noqa: E402
from shoplens.encoders.registry import create  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default="efficientnet_lite2", help="image encoder to add to the cache")
    ap.add_argument("--chunk", type=int, default=320, help="products per progress line")
    ap.add_argument("--threads", type=int, default=EncoderConfig().threads)
    a = ap.parse_args(argv)
    products = load_fashion()
    enc = create(a.encoder, threads=a.threads, batch_size=32, cache_dir=OUT / "align_cache" / "onnx")
    cache = feature_cache()
    t0 = time.perf_counter()
    for s in range(0, len(products), a.chunk):
        fs = featureset(products[s : s + a.chunk], {enc.name: enc}, cache, progress=False)
        dt = fs.timings_s.get(f"image:{enc.name}", 0.0)
        print(
            f"{min(s + a.chunk, len(products))}/{len(products)} photos; this chunk's CNN {dt:.1f}s; "
            f"{time.perf_counter() - t0:.0f}s in all",
            flush=True,
        )
    print(f"{enc.name} ({enc.fingerprint()}): {len(products)} photos cached in {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

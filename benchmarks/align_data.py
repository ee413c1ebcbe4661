"""Shared fashion data + cached encoder features for the alignment benchmark and default heads.

Features go through shoplens' own FeatureCache / encode_catalog, so a second
run (or a retrain) never re-encodes anything.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shoplens.config import EncoderConfig  # noqa: E402
from shoplens.records import Product  # noqa: E402

DATA = Path(os.environ.get("SHOPLENS_SHARED_DATA") or REPO.parent / "shared" / "data")
FASHION = DATA / "fashion"
ATTR_COLS = ("gender", "masterCategory", "subCategory", "baseColour", "season", "usage")
OUT = REPO / "benchmarks" / "out"
FIELD_MAP = {"gender": "gender", "colour": "baseColour", "usage": "usage", "season": "season", "type": "type"}


def load_fashion(limit: int | None = None) -> list[Product]:
    out = []
    with open(FASHION / "catalog.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            img = FASHION / r["image"]
            out.append(
                Product(
                    id=r["id"],
                    title=r["productDisplayName"] or None,
                    images=(str(img),) if img.is_file() else (),
                    attributes={c: r[c] for c in ATTR_COLS if r.get(c)},
                )
            )
            if limit and len(out) >= limit:
                break
    return out


def load_text_only(limit: int | None = None) -> list[Product]:
    out = []
    with open(FASHION / "styles_text_only.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if not r.get("productDisplayName"):
                continue
            out.append(
                Product(
                    id="t" + r["id"], title=r["productDisplayName"], attributes={c: r[c] for c in ATTR_COLS if r.get(c)}
                )
            )
            if limit and len(out) >= limit:
                break
    return out


def make_encoders(threads: int = 2, cache_dir: Path | None = None, image: tuple[str, ...] | None = None) -> dict:
    """`image`: other image encoders than the defaults (e.g. with efficientnet_lite2)."""
    cache_dir = Path(cache_dir or OUT / "align_cache" / "onnx")
    cfg = EncoderConfig() if image is None else EncoderConfig(image=tuple(image))
    try:
        from shoplens.encoders.registry import create

        names = list(cfg.image) + list(cfg.text)
        return {n: create(n, threads=threads, batch_size=32, cache_dir=cache_dir) for n in names}
    except ImportError:  # registry not written yet: same classes, built directly
        from shoplens.encoders.colour import ColourHistogramEncoder
        from shoplens.encoders.onnx_cnn import EfficientNetLite0Encoder, MobileNetV2Encoder
        from shoplens.encoders.text import E5Encoder, USEEncoder

        kw = dict(threads=threads, batch_size=32, cache_dir=cache_dir)
        return {
            "mobilenet_v2": MobileNetV2Encoder(**kw),
            "efficientnet_lite0": EfficientNetLite0Encoder(**kw),
            "colour": ColourHistogramEncoder(**kw),
            "e5": E5Encoder(**kw),
            "use": USEEncoder(**kw),
        }


def feature_cache(path: Path | None = None):
    from shoplens.features.cache import FeatureCache

    return FeatureCache(path or OUT / "align_cache" / "features.sqlite")


def featureset(products, encoders, cache, progress=True):
    from shoplens.features.extract import encode_catalog

    text = [e for e in encoders.values() if e.modality == "text"]
    image = [e for e in encoders.values() if e.modality == "image"]
    return encode_catalog(products, text, image, cache, progress=progress)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="warm the feature cache for the fashion catalog")
    ap.add_argument("--text-only", type=int, default=0, help="also encode N text-only titles")
    a = ap.parse_args()
    encs = make_encoders()
    cache = feature_cache()
    prods = load_fashion()
    fs = featureset(prods, encs, cache)
    print("features:", {k: v.shape for k, v in {**fs.text, **fs.image}.items()}, fs.timings_s, flush=True)
    # titles alone (the captions the heads train on) and, optionally, text-only titles
    titles = [p.title for p in prods if p.title]
    if a.text_only:
        titles += [p.title for p in load_text_only(a.text_only)]
    for n in ("e5", "use"):
        cache.encode_texts(encs[n], titles, "passage", batch_size=64)
        print("titles encoded with", n, flush=True)

"""Alignment heads trained WITHOUT the held-out 20% (the shipped recipe, `AlignConfig()` on every
other fashion product), so that benchmarks/bench_quality2.py measures search on products the heads
never saw. The shipped default heads were refit on all 7,710 products, held-out ones included.

    nice .venv/bin/python benchmarks/bench_quality2_heads.py     # ~10-20 min on 2 cores; cached after

Writes benchmarks/out/quality2/heads_heldout/ (skipped when it exists; `--out DIR` for another
place, e.g. heads of a new recipe beside the old ones: bench_quality2.py --heads-dir DIR searches with them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402

from shoplens.align.config import AlignConfig  # noqa: E402
from shoplens.align.run import build_align_data  # noqa: E402
from shoplens.align.train import train_heads  # noqa: E402

HEADS = OUT / "quality2" / "heads_heldout"


def heldout_rows(products, seed: int = 0, frac: float = 0.2) -> np.ndarray:
    """The held-out slice of benchmarks/align_quality.py (every fashion product has a photo and a title)."""
    usable = np.flatnonzero([bool(p.images) and bool(p.title) for p in products])
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(usable, size=int(round(frac * len(usable))), replace=False))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HEADS, help="where the heads go (skipped when it exists)")
    ap.add_argument("--workers", type=int, default=1, help="processes training the heads side by side (same heads)")
    ap.add_argument(
        "--image-inputs",
        nargs="*",
        help="image encoders the heads read (AlignConfig.image_inputs; e.g. mobilenet_v2 efficientnet_lite2 colour)",
    )
    ap.add_argument("--mlp-hidden", type=int, help="AlignConfig.attribute_mlp_hidden (0: no attribute MLP)")
    ap.add_argument(
        "--no-mlp",
        action="store_true",
        help="without the attribute MLP (it reads raw photo features, not the shared space: compare with heads "
        "trained without one, e.g. heads_heldout_query)",
    )
    ap.add_argument(
        "--set", nargs="*", default=[], metavar="FIELD=VALUE", help="AlignConfig fields other than defaults"
    )
    ap.add_argument(
        "--all-products",
        action="store_true",
        help="train on every fashion product, held-out ones included (members for the shipped heads: "
        "benchmarks/align_members.py combine --rows all)",
    )
    a = ap.parse_args(argv)
    out = a.out
    if out.exists():
        print(f"{out} exists")
        return 0
    t0 = time.perf_counter()
    image = tuple(a.image_inputs) if a.image_inputs else None
    encs, cache, products = make_encoders(image=image), feature_cache(), load_fashion()
    fs = featureset(products, encs, cache, progress=True)
    test_rows = heldout_rows(products)
    assert (fs.has_image[test_rows]).all()
    train_rows = np.setdiff1d(np.arange(len(products)), [] if a.all_products else test_rows)
    cfg = AlignConfig().with_(refit_full=False, val_fraction=0.0, workers=a.workers)
    if image:
        cfg = cfg.with_(image_inputs=image)
    if a.mlp_hidden is not None:
        cfg = cfg.with_(attribute_mlp_hidden=a.mlp_hidden)
    if a.no_mlp:
        cfg = cfg.with_(attribute_mlp_hidden=0)
    for spec in a.set:
        fld, val = spec.split("=", 1)
        cfg = cfg.with_(**{fld: type(getattr(cfg, fld))(val)})
    data = build_align_data(fs, cache, encs, cfg, field_map=FIELD_MAP, rows=train_rows, progress=True)
    heads, _ = train_heads(data, cfg, progress=True)
    if not a.all_products:
        heads.meta["trained_without"] = "the held-out 20% of benchmarks/align_quality.py (seed 0)"
    heads.save(out)
    print(f"saved {out} ({heads.fingerprint}) in {time.perf_counter() - t0:.0f}s on {len(train_rows)} products")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

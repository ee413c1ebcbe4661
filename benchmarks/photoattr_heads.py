"""The held-out heads (bench_quality2_heads.py) plus the attribute MLP on raw photo features, fitted
on the same 80% of the fashion products, so bench_quality2.py can measure it through Engine.search.
The towers and linear classifiers are copied unchanged (same shared space: no re-encode).

    nice .venv/bin/python benchmarks/photoattr_heads.py     # ~5-10 min on 2 busy cores
    nice .venv/bin/python benchmarks/bench_quality2.py --heads-dir benchmarks/out/quality2/heads_heldout_mlp ...
    # the query-mode held-out heads + the same MLP (it reads raw photo features: no refit needed)
    nice .venv/bin/python benchmarks/photoattr_heads.py --src benchmarks/out/quality2/heads_heldout_query \
        --mlp-from benchmarks/out/quality2/heads_heldout_mlp --out benchmarks/out/quality2/heads_heldout_query_mlp

Writes benchmarks/out/quality2/heads_heldout_mlp/ (skipped when it exists).

`--shipped` (for the maintainer, once): fits the MLP on all 7,710 products into the shipped default
heads in place. Their towers stay as they are (same space_fingerprint), so every existing store
keeps its aligned vectors and picks the MLP up on its next open: no re-encode.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from align_data import FIELD_MAP, OUT, feature_cache, featureset, load_fashion, make_encoders  # noqa: E402
from bench_quality2_heads import HEADS, heldout_rows  # noqa: E402

from shoplens.align.attribute_mlp import fit_attribute_mlp  # noqa: E402
from shoplens.align.captions import product_attributes  # noqa: E402
from shoplens.align.config import AlignConfig  # noqa: E402
from shoplens.align.heads import Heads, default_heads_path  # noqa: E402

OUT_HEADS = OUT / "quality2" / "heads_heldout_mlp"


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shipped", action="store_true", help="refit the shipped default heads' MLP on every product")
    ap.add_argument("--src", type=Path, default=HEADS, help="held-out heads to add the MLP to")
    ap.add_argument("--out", type=Path, default=OUT_HEADS, help="where the heads with the MLP go")
    ap.add_argument(
        "--mlp-from",
        type=Path,
        help="copy the MLP of these held-out heads instead of fitting it (it reads the raw photo features only, "
        "so heads trained on the same products with another text recipe share it)",
    )
    a = ap.parse_args(argv)
    src, dst = (default_heads_path(), default_heads_path()) if a.shipped else (a.src, a.out)
    if dst.exists() and not a.shipped:
        print(f"{dst} exists")
        return 0
    t0 = time.perf_counter()
    if a.mlp_from is not None:
        heads, donor = Heads.load(src), Heads.load(a.mlp_from)
        if donor.attribute_mlp is None or donor.meta.get("trained_without") != heads.meta.get("trained_without"):
            raise SystemExit(f"{a.mlp_from}: no attribute MLP, or trained on other products than {src}")
        heads.attribute_mlp = donor.attribute_mlp
        heads.meta["attribute_mlp_fit"] = {**donor.meta.get("attribute_mlp_fit", {}), "copied_from": str(a.mlp_from)}
        heads.save(dst)
        print(f"saved {dst} ({heads.fingerprint}): {src} + the MLP of {a.mlp_from}")
        return 0
    products = load_fashion()
    encs = {k: v for k, v in make_encoders().items() if v.modality == "image"}
    fs = featureset(products, encs, feature_cache(), progress=False)
    heads = Heads.load(src)
    train = np.flatnonzero(fs.has_image)
    if not a.shipped:
        train = np.setdiff1d(train, heldout_rows(products))
    attrs = [product_attributes(products[i], FIELD_MAP) for i in train]
    labels = {}
    for f, (classes, _W, _b) in heads.classifiers.items():
        labels[f] = (classes, np.array([classes.index(a[f]) if a.get(f) in classes else -1 for a in attrs]))
    cfg = AlignConfig()
    heads.attribute_mlp = fit_attribute_mlp(
        {n: fs.image[n][train] for n in heads.image_inputs},
        labels,
        hidden=cfg.attribute_mlp_hidden,
        epochs=cfg.attribute_mlp_epochs,
        seeds=cfg.attribute_mlp_seeds,
        threads=cfg.threads,
    )
    heads.meta["attribute_mlp_fit"] = {
        "products": len(train),
        "seconds": round(time.perf_counter() - t0, 1),
        "command": "benchmarks/photoattr_heads.py" + (" --shipped" if a.shipped else ""),
    }
    if a.shipped:  # stores that recorded only the old fingerprint keep their aligned vectors
        same = list(heads.meta.get("same_space_as") or [])
        heads.meta["same_space_as"] = [*same, Heads.load(src).fingerprint]
    heads.save(dst)
    print(f"saved {dst} ({heads.fingerprint}) in {time.perf_counter() - t0:.0f}s on {len(train)} products")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`shoplens align --store DIR`: train this store's text-image heads and re-embed it."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_align_parser(subparsers: Any) -> None:
    sp = subparsers.add_parser(
        "align",
        help="train the store's text<->image alignment heads on its own image-title pairs",
        description="Train projection heads that put the store's text and photos in one space "
        "(contrastive, on its image-title pairs plus attribute captions in English and "
        "Chinese), validate on a held-out slice, save them versioned in the store and "
        "re-embed. Encoder features come from the store's cache: nothing is re-encoded.",
    )
    sp.add_argument("--store", required=True, help="store directory")
    sp.add_argument("--epochs", type=int, help="training epochs (default: recipe default)")
    sp.add_argument("--seed", type=int, help="random seed (training is deterministic for a seed)")
    sp.add_argument("--val-fraction", type=float, help="share of pairs held out for the reported metrics")
    sp.add_argument("--min-pairs", type=int, help="refuse to train with fewer image-title pairs")
    sp.add_argument(
        "--ensemble",
        type=int,
        help="heads trained with different seeds and concatenated (default: recipe default, 3; 1 trains 3x faster)",
    )
    sp.add_argument(
        "--no-refit",
        action="store_true",
        help="keep the heads trained without the validation slice (default: refit on all pairs)",
    )
    sp.add_argument("--json", action="store_true", help="print the metrics as JSON")
    sp.set_defaults(func=cmd_align)


def config_from_args(args: argparse.Namespace):
    from ..align.config import AlignConfig

    kw: dict[str, Any] = {}
    for name, field in (
        ("epochs", "epochs"),
        ("seed", "seed"),
        ("val_fraction", "val_fraction"),
        ("min_pairs", "min_pairs"),
        ("ensemble", "ensemble"),
    ):
        v = getattr(args, name, None)
        if v is not None:
            kw[field] = v
    if getattr(args, "no_refit", False):
        kw["refit_full"] = False
    return AlignConfig(**kw)


def cmd_align(args: argparse.Namespace) -> int:
    from ..engine import Engine

    engine = Engine.open(args.store)
    metrics = engine.align(config_from_args(args), progress=not args.quiet)  # TooFewPairs -> exit 2
    if args.json:  # the metrics table itself was printed by align_store as it finished
        print(json.dumps({k: v for k, v in metrics.items() if k != "history"}, indent=2))
    return 0

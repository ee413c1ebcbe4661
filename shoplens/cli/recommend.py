"""`shoplens similar` and `shoplens recommend`: parsing and printing; the work is in Engine."""

from __future__ import annotations

import argparse
from typing import Any

from .common import one_shot_overrides, print_result


def add_recommend_parsers(subparsers: Any) -> None:
    sp = subparsers.add_parser(
        "similar",
        help="products like a given one, by photo, text or both (near-duplicates collapsed, diversified)",
        description="Nearest products to ID from the store's own vectors (no model is run). The product "
        "itself and copies of its photo are never returned; near-identical candidates collapse to the "
        "first; the list is diversified by MMR (see RecommendConfig.mmr_lambda).",
    )
    sp.add_argument("id", help="product id")
    _common(sp)
    sp.add_argument("--by", choices=("photo", "text", "both"), default="both", help="compare photos, texts or both")
    sp.set_defaults(func=cmd_similar)

    sp = subparsers.add_parser(
        "recommend",
        help="recommendations for a shopper from the feedback log (popular items for an unknown shopper)",
        description="Co-view/co-purchase neighbours of the shopper's recent items (sessions in the store's "
        "feedback log), products near their profile, and items they viewed recently, fused; never an "
        "item they bought. A shopper with no logged events gets the most popular items, marked "
        '"source": "popular".',
    )
    sp.add_argument("--user", required=True, help="shopper id (user_id, or client_id, in the log)")
    _common(sp)
    sp.set_defaults(func=cmd_recommend)


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--store", required=True, help="store directory")
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--filter", action="append", metavar="FIELD=VALUE", help="repeatable; price<=50 works too")
    sp.add_argument("--json", action="store_true", help="one JSON object, shaped like `search --json`")
    sp.add_argument("--explain", action="store_true", help="which source found each hit, with its rank and score")


def _open(args: argparse.Namespace):
    from ..engine import Engine

    return Engine.open(args.store, overrides=one_shot_overrides(args))


def cmd_similar(args: argparse.Namespace) -> int:
    from ..search.query import parse_filters

    res = _open(args).similar(args.id, k=args.k, by=args.by, filters=parse_filters(args.filter))
    if not args.json:
        print(f"similar to {args.id} (by {args.by}):")
    print_result(res, args)
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from ..search.query import parse_filters

    res = _open(args).recommend(args.user, k=args.k, filters=parse_filters(args.filter))
    if not args.json:
        und = res.understanding or {}
        print(und.get("note") or f"for {args.user} ({und.get('history_events', 0)} events in their history):")
    print_result(res, args)
    return 0

"""`shoplens train-ranker --store DIR`: learn a ranker from the store's feedback log."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import one_shot_overrides


def add_rank_parser(subparsers: Any) -> None:
    sp = subparsers.add_parser(
        "train-ranker",
        help="train the learned ranker on the store's feedback log (searches logged with --log, events)",
        description="Builds training rows from logged searches and their clicks (position bias corrected by a "
        "click model), trains an MLP with early stopping on the newest searches, prints validation ROC-AUC, "
        "PR-AUC and NDCG@10, and stores the ranker versioned in the store; search re-ranks with it from then on "
        "(--no-rerank shows the engine without it).",
    )
    sp.add_argument("--store", required=True, help="store directory")
    sp.add_argument(
        "--incremental",
        action="store_true",
        help="update the current ranker with searches logged since it was trained (a few epochs, no full retrain)",
    )
    sp.add_argument("--depth", type=int, help="candidates re-ranked per search (default: [ranker] depth, 100)")
    sp.add_argument(
        "--min-clicks", type=int, help="refuse to train with fewer clicks (default: [ranker] min_clicks, 50)"
    )
    sp.add_argument("--seed", type=int, help="random seed")
    sp.add_argument("--json", action="store_true", help="print the metrics as JSON")
    sp.set_defaults(func=cmd_train_ranker)


def cmd_train_ranker(args: argparse.Namespace) -> int:
    from ..engine import Engine

    flags = {"ranker.depth": args.depth, "ranker.min_clicks": args.min_clicks, "ranker.seed": args.seed}
    engine = Engine.open(args.store, overrides={**one_shot_overrides(args), **flags})
    m = engine.train_ranker(incremental=args.incremental)  # TooLittleFeedback -> exit 2
    if args.json:
        print(json.dumps(m, indent=2))
        return 0
    fb = m["feedback"]
    print(f"ranker {m['version']} saved in {m['path']}")
    print(f"  feedback: {fb['clicks']} clicks over {fb['clicked_searches']} clicked searches ({fb['events']} events)")
    if args.incremental:
        print(f"  updated on {m['update_rows']} rows from {m['update_searches']} new searches")
        return 0
    v, b, r = m["validation"], m["validation_logged_order"], m["validation_relevance"]
    p = m["validation_position_only"]
    print(f"  validation (newest {m['validation_searches']} searches, {m['validation_rows']} shown products):")
    print(f"    {'':<14} {'ranker':>8} {'score alone':>12} {'position alone':>15} {'logged order':>13}")
    for key, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("ndcg_cut_10", "NDCG@10")):
        print(f"    {label:<14} {v[key]:>8.4f} {r[key]:>12.4f} {p[key]:>15.4f} {b[key]:>13.4f}")
    how = "relevance + position term" if m.get("position_bias") != "ips" else "P(examined at its position) x relevance"
    print(f"    ranker = {how} (what predicts a click); score alone = what serving ranks by; ROC-AUC chance 0.5")
    print(f"  {m['epochs']} epochs (best {m['best_epoch']}), {m['seconds']['total']} s")
    return 0

"""What several subcommands share: configuration keys from flags, and how a result is printed."""

from __future__ import annotations

import argparse
import json
from typing import Any


def engine_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags as configuration keys; they win over the store's shoplens.toml. A flag
    not given is absent, so the store file (or the default) decides."""
    flags = {
        "encoders.threads": getattr(args, "threads", None),
        "encoders.batch_size": getattr(args, "batch_size", None),
        "build.delete_missing": True if getattr(args, "delete_missing", False) else None,
        "build.rebuild": True if getattr(args, "rebuild", False) else None,
        "build.auto_align": False if getattr(args, "no_align", False) else None,
        "index.ocr": "off" if getattr(args, "no_ocr", False) else None,
        "build.progress": False if getattr(args, "quiet", False) else None,
        "build.executor": getattr(args, "executor", None),
        "build.ray_address": getattr(args, "ray_address", None),
        "index.vectors": getattr(args, "vectors", None),
    }
    return {k: v for k, v in flags.items() if v is not None}


def one_shot_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """For a command that opens a store, answers and exits: no background warm-up at open (its first
    query pays the same cost anyway, and a thread still loading models at exit only races the
    interpreter's shutdown). `shoplens serve` warms up before it takes traffic instead."""
    return {**engine_overrides(args), "quality.warm_up": False}


def print_result(res: Any, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(res.to_json(explain=args.explain), ensure_ascii=False))
        return
    if res.query_id:
        print(f"query_id: {res.query_id}")
    und = res.understanding
    if und and und.get("attributes"):
        print("understood: " + ", ".join(f"{k}={v}" for k, v in und["attributes"].items()))
    for i, h in enumerate(res.hits, 1):
        print(f"{i:>3}. {h.id:<12} {h.score:.4f}  {h.title or '(no title)'}")
        if args.explain:
            for name, c in sorted(h.components.items(), key=lambda kv: -kv[1].contribution):
                print(f"       {name:<18} rank {c.rank:>4}  score {c.score:9.4f}  +{c.contribution:.4f}")
            if h.ranker:
                r = h.ranker
                print(
                    f"       ranker p={r['score']:.3f} (fused rank {r['fused_rank']}); strongest: "
                    + ", ".join(f"{g} {d:+.2f}" for g, d in r.get("strongest", {}).items())
                )
            if h.snippet:
                print(f"       review: {h.snippet[:160]}")
            if h.photo_text:
                print(f"       printed in the photo: {h.photo_text}")
            if h.predicted:
                print(
                    "       seen in the photo: " + ", ".join(f"{f} {v} ({p:.2f})" for f, (v, p) in h.predicted.items())
                )
    if res.facets:
        for field, counts in res.facets.items():
            print(f"  [{field}] " + ", ".join(f"{v} ({n})" for v, n in counts.items()))
    if not res.hits:
        print("no results")

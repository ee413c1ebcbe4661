"""`shoplens` command line: argument parsing and printing only; the work is in Engine."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ShoplensError, UsageError
from . import align as align_cli
from . import evaluate as evaluate_cli


def _engine_config(args: argparse.Namespace):
    from ..config import EncoderConfig, EngineConfig

    kw: dict[str, Any] = {}
    if getattr(args, "threads", None):
        kw["threads"] = args.threads
    if getattr(args, "batch_size", None):
        kw["batch_size"] = args.batch_size
    return EngineConfig(encoders=EncoderConfig(**kw))


def cmd_index(args: argparse.Namespace) -> int:
    from ..config import BuildConfig
    from ..engine import Engine

    build = BuildConfig(
        delete_missing=args.delete_missing, rebuild=args.rebuild, auto_align=not args.no_align, progress=not args.quiet
    )
    engine = Engine.build(args.catalog, args.store, _engine_config(args), build)
    m = engine.manifest
    fields = ", ".join(f"{n} ({f.rows} x {f.dim}, {f.index})" for n, f in m.fields.items())
    print(f"indexed {m.products} products into {args.store} [{m.generation}]")
    print(f"  vector fields: {fields}")
    print("  changes: " + ", ".join(f"{k}={v}" for k, v in m.ingest.items()))
    if m.heads:
        print(f"  alignment heads: {m.heads.get('source')} ({m.heads.get('fingerprint')})")
    return 0


def _print_result(res, args) -> None:
    if args.json:
        print(json.dumps(res.to_json(explain=args.explain), ensure_ascii=False))
        return
    und = res.understanding
    if und and und.get("attributes"):
        print("understood: " + ", ".join(f"{k}={v}" for k, v in und["attributes"].items()))
    for i, h in enumerate(res.hits, 1):
        print(f"{i:>3}. {h.id:<12} {h.score:.4f}  {h.title or '(no title)'}")
        if args.explain:
            for name, c in sorted(h.components.items(), key=lambda kv: -kv[1].contribution):
                print(f"       {name:<18} rank {c.rank:>4}  score {c.score:9.4f}  +{c.contribution:.4f}")
            if h.predicted:
                print(
                    "       seen in the photo: " + ", ".join(f"{f} {v} ({p:.2f})" for f, (v, p) in h.predicted.items())
                )
    if res.facets:
        for field, counts in res.facets.items():
            print(f"  [{field}] " + ", ".join(f"{v} ({n})" for v, n in counts.items()))
    if not res.hits:
        print("no results")


def _search_batch(engine, lines, args, weights) -> list[int]:
    """One JSON result per input line, in order; a bad line prints `{"error": ..., "line": N}` in its
    place and the batch goes on. Returns the numbers of the lines that failed."""
    from ..jsonlines import iter_objects
    from ..search.query import Query

    failed: list[int] = []
    for n, obj, err in iter_objects(lines):
        try:
            if err:
                raise UsageError(f"{args.batch}, line {n}: {err}")
            q = Query.from_json(obj, k=args.k, where=f"{args.batch}, line {n}")
            if weights:
                q.weights = weights
            out = engine.search_query(q).to_json(explain=args.explain)
        except ShoplensError as e:  # the user's line is wrong; anything else is a bug and stops the batch
            failed.append(n)
            out = {"error": str(e), "line": n}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return failed


def cmd_search(args: argparse.Namespace) -> int:
    from ..engine import Engine
    from ..search.query import Query, parse_filters

    engine = Engine.open(args.store, _engine_config(args))
    weights = json.loads(args.weights) if args.weights else None
    if args.batch:
        if args.text or args.image:
            raise UsageError("--batch reads queries from a file; do not also give TEXT or --image")
        try:
            src = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"--batch {args.batch}: cannot read it ({e.strerror})") from None
        with src:
            failed = _search_batch(engine, src, args, weights)
        if failed:
            # A nightly job keeps every good line; the exit status (2: bad input) still says some failed.
            shown = ", ".join(map(str, failed[:20])) + (", ..." if len(failed) > 20 else "")
            print(
                f"shoplens: error: {len(failed)} line(s) of {args.batch} failed: line {shown} "
                f"(an error object stands in their place)",
                file=sys.stderr,
            )
            return 2
        return 0
    if not args.text and not args.image:
        raise UsageError("give a TEXT query, --image PATH, or --batch FILE")
    q = Query(
        text=args.text,
        image=args.image,
        k=args.k,
        filters=parse_filters(args.filter),
        facets=(
            args.facets.split(",") if args.facets and args.facets != "all" else (True if args.facets == "all" else None)
        ),
        strict_attributes=args.strict_attributes,
        weights=weights,
    )
    _print_result(engine.search_query(q), args)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..store.reader import StoreReader

    r = StoreReader(args.store)
    print(r.manifest.to_json())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.store), quiet=args.quiet)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shoplens", description="Cross-modal product search for e-commerce catalogs.")
    p.add_argument("--version", action="version", version=f"shoplens {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, store_required=True):
        sp.add_argument("--store", required=store_required, help="store directory")
        sp.add_argument("--threads", type=int, help="encoder threads (default: all cores)")
        sp.add_argument("--batch-size", type=int, help="encoder batch size")

    sp = sub.add_parser(
        "index", help="index a catalog (CSV, JSONL, Parquet) into a store; upserts into an existing one"
    )
    sp.add_argument("catalog", nargs="+")
    common(sp)
    sp.add_argument("--delete-missing", action="store_true", help="remove stored products absent from the catalog")
    sp.add_argument("--rebuild", action="store_true", help="ignore the existing store contents")
    sp.add_argument("--no-align", action="store_true", help="do not train alignment heads automatically")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("search", help="search a store by text, image, or both")
    sp.add_argument("text", nargs="?")
    common(sp)
    sp.add_argument("--image", help="query image path")
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--filter", action="append", metavar="FIELD=VALUE", help="repeatable; price<=50 works too")
    sp.add_argument("--facets", metavar="FIELDS", help="comma-separated attribute fields, or 'all'")
    sp.add_argument(
        "--strict-attributes",
        action="store_true",
        help="turn attributes understood in the query (colour, gender, type...) into filters",
    )
    sp.add_argument("--weights", help='JSON fusion weights, e.g. \'{"bm25": 2, "image": 0}\'')
    sp.add_argument("--batch", metavar="QUERIES.jsonl", help="one JSON query per line ('-' = stdin)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--explain", action="store_true", help="per-component score and rank for every hit")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("info", help="print a store's manifest")
    sp.add_argument("--store", required=True)
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser("demo", help="build a store from the bundled demo catalog and run example searches")
    sp.add_argument("--store", default=os.environ.get("SHOPLENS_DEMO_STORE", "demo-store"))
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_demo)

    align_cli.add_align_parser(sub)
    evaluate_cli.add_eval_parser(sub)
    evaluate_cli.add_judgments_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ShoplensError as e:  # the user's input is wrong: one line, exit 2; anything else is a bug (traceback)
        print(f"shoplens: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shoplens: interrupted; the store is unchanged (re-run to resume)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())

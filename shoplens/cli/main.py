"""`shoplens` command line: argument parsing and printing only; the work is in Engine."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .. import __version__
from ..errors import ShoplensError, UsageError
from . import align as align_cli
from . import evaluate as evaluate_cli
from . import feedback as feedback_cli
from . import logs
from . import rank as rank_cli
from . import recommend as recommend_cli
from . import serve as serve_cli
from .common import engine_overrides, one_shot_overrides, print_result

log = logging.getLogger(__name__)


def cmd_index(args: argparse.Namespace) -> int:
    from ..engine import Engine

    engine = Engine.build(args.catalog, args.store, overrides=one_shot_overrides(args), reviews=args.reviews)
    m = engine.manifest
    fields = ", ".join(f"{n} ({f.rows} x {f.dim}, {f.index})" for n, f in m.fields.items())
    print(f"indexed {m.products} products into {args.store} [{m.generation}]")
    print(f"  vector fields: {fields}")
    print("  changes: " + ", ".join(f"{k}={v}" for k, v in m.ingest.items()))
    if m.heads:
        print(f"  alignment heads: {m.heads.get('source')} ({m.heads.get('fingerprint')})")
    return 0


def _parse_weights(text: str) -> dict[str, float]:
    from ..search.query import check_weights

    try:
        w = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f'--weights {text!r}: not JSON ({e.msg}); e.g. \'{{"bm25": 2, "image": 0}}\'') from None
    return check_weights(w, "--weights")


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
            q.user = q.user or args.user
            res = engine.search_query(q, log=args.log, rerank=not args.no_rerank, explain=args.explain)
            out = res.to_json(explain=args.explain)
        except ShoplensError as e:  # the user's line is wrong; anything else is a bug and stops the batch
            failed.append(n)
            out = {"error": str(e), "line": n}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return failed


def cmd_search(args: argparse.Namespace) -> int:
    from ..engine import Engine
    from ..search.query import Query, parse_filters

    engine = Engine.open(args.store, overrides=one_shot_overrides(args))
    weights = _parse_weights(args.weights) if args.weights else None
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
        user=args.user,
    )
    print_result(engine.search_query(q, log=args.log, rerank=not args.no_rerank, explain=args.explain), args)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..engine import Engine

    d = Engine.describe(args.store, engine_overrides(args), os.environ)
    if args.json:
        print(json.dumps(d, ensure_ascii=False, indent=2))
        return 0
    print(f"store {d['store']}  (configuration file: {d['config_file'] or 'none'})")
    if d["stored_schema_version"] != d["manifest"]["schema_version"]:
        print(
            f"  schema v{d['stored_schema_version']} on disk, read as v{d['manifest']['schema_version']}; "
            f"`shoplens migrate --store {d['store']}` upgrades it in place"
        )
    same = d["built_with_this_config"]
    if same is False:
        print("  the store was built with other settings (encoders, image part weights, index, lexicon);")
        print("  `shoplens index` applies these")
    print("effective configuration (value  [source]):")
    width = max(len(k) for k in d["config"])
    for key, v in d["config"].items():
        print(f"  {key:<{width}}  {json.dumps(v['value'], ensure_ascii=False)}  [{v['source']}]")
    print("manifest:")
    print(json.dumps(d["manifest"], ensure_ascii=False, indent=2, sort_keys=True))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from ..engine import Engine

    r = Engine.migrate(args.store)
    if r["generation"] is None:
        print(f"{args.store}: already at schema v{r['to']}; nothing to do")
    else:
        print(f"{args.store}: migrated schema v{r['from']} -> v{r['to']} as {r['generation']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.store), quiet=args.quiet)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shoplens",
        description="Cross-modal product search for e-commerce catalogs.",
        epilog="Results go to stdout; logs and progress bars to stderr. -v, -q and --log-format work before "
        "or after the command name (shoplens -q index ... = shoplens index ... -q).",
    )
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
    sp.add_argument(
        "--executor", choices=("local", "ray"), help="where encoding runs: this process (default) or Ray Data actors"
    )
    sp.add_argument("--ray-address", metavar="ADDR", help="with --executor ray: a running cluster (HOST:PORT, 'auto')")
    sp.add_argument(
        "--vectors",
        metavar="SPEC",
        help="where vectors live: 'embedded' (faiss, the default for a new store) or milvus://HOST:PORT[/PREFIX]; "
        "recorded in the store (later runs keep it)",
    )
    sp.add_argument(
        "--reviews", metavar="FILE", help="customer reviews to add (CSV/JSONL: product_id,text,rating,date)"
    )
    sp.add_argument("--no-ocr", action="store_true", help="do not read text printed in photos ([index] ocr = 'off')")
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
    sp.add_argument("--log", action="store_true", help="record the search in the store's feedback log (prints its id)")
    sp.add_argument("--user", help="shopper id: personalises the ranking and attributes logged searches")
    sp.add_argument("--no-rerank", action="store_true", help="the engine without the learned ranker")
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser(
        "info",
        help="a store's effective configuration (and where each value came from) and its manifest",
        description="Configuration precedence: command-line flags > STORE/shoplens.toml > defaults.",
    )
    common(sp)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser(
        "migrate",
        help="upgrade a store built by an older shoplens to the current schema, in place",
        description="Writes the upgraded store as a new generation and switches to it atomically; "
        "the old generation is kept beside it. Searching an old store works without this.",
    )
    sp.add_argument("--store", required=True)
    sp.set_defaults(func=cmd_migrate)

    sp = sub.add_parser("demo", help="build a store from the bundled demo catalog and run example searches")
    sp.add_argument("--store", default=os.environ.get("SHOPLENS_DEMO_STORE", "demo-store"))
    sp.set_defaults(func=cmd_demo)

    align_cli.add_align_parser(sub)
    evaluate_cli.add_eval_parser(sub)
    evaluate_cli.add_judgments_parser(sub)
    serve_cli.add_serve_parser(sub)
    recommend_cli.add_recommend_parsers(sub)
    feedback_cli.add_feedback_parser(sub)
    rank_cli.add_rank_parser(sub)
    logs.add_logging_options_everywhere(p)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with logs.cli_logging(args.verbose, args.quiet, args.log_format):
        try:
            return int(args.func(args) or 0)
        except ShoplensError as e:  # the user's input is wrong: one line, exit 2; anything else is a bug (traceback)
            log.error("%s", e)
            return 2
        except KeyboardInterrupt:
            log.error("interrupted; the store is unchanged (re-run to resume)")
            return 130
        except BrokenPipeError:
            return 0


if __name__ == "__main__":
    sys.exit(main())

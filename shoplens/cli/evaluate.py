"""`shoplens eval` and `shoplens judgments` sub-commands (registered by shoplens/cli/main.py)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..evaluate.metrics import DEFAULT_METRICS, Evaluation, canonical, evaluate
from ..evaluate.trec import Qrels, Run, read_run, run_from_hits, write_qrels, write_run

if TYPE_CHECKING:
    from ..evaluate.judgments import Judgments

SEARCH_CHUNK = 32


logger = logging.getLogger(__name__)  # not `log`: the commands below use that name for click logs


# ----------------------------------------------------------------------------- eval


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    sp = subparsers.add_parser(
        "eval",
        help="score a run or a store against relevance judgments (trec_eval-exact metrics, HTML report)",
        description="Either --run RUN --qrels QRELS (TREC files), or --store DIR --judgments FILE "
        "[--queries FILE] to search the store and score it. --compare adds a second run or store.",
    )
    src = sp.add_argument_group("file mode")
    src.add_argument("--run", help="TREC run file: qid Q0 docid rank score tag")
    src.add_argument("--qrels", help="judgments: TREC qrels (qid 0 docid grade), CSV (query,id,grade) or SRW JSON")
    st = sp.add_argument_group("store mode")
    st.add_argument("--store", help="store directory to search")
    st.add_argument(
        "--queries", help="queries JSONL ({qid, text, image, filters}), SRW query set JSON, or TSV qid<TAB>text"
    )
    st.add_argument("--judgments", help="same formats as --qrels")
    st.add_argument("--k", type=int, default=100, help="results per query (default 100)")
    st.add_argument("--threads", type=int, help="encoder threads")
    sp.add_argument("--compare", metavar="RUN_OR_STORE", help="a second run file or store directory (B) to compare")
    sp.add_argument("--labels", default=None, help="names for the two sides, e.g. 'bm25,hybrid'")
    sp.add_argument(
        "--metrics",
        default=",".join(DEFAULT_METRICS),
        help="comma-separated: ndcg@K, map, map@K, mrr, mrr@K, p@K, recall@K, hits@K, roc_auc, avg_precision",
    )
    sp.add_argument("--rel-level", type=int, default=1, help="minimum grade counted relevant (trec_eval -l; default 1)")
    sp.add_argument("--grade-map", help="map source ratings to grades, e.g. '100:3,10:2,1:1,0:0' for ESCI SRW files")
    sp.add_argument("--grade-scale", type=float, help="multiply ratings and round (e.g. 3 for 0-1 LLM ratings)")
    sp.add_argument("--json", action="store_true", help='print {"metrics": ..., "per_query": ...}')
    sp.add_argument("--report", metavar="DIR", help="write index.html, PNG charts, runs, qrels and metrics.json here")
    sp.add_argument("--primary", default="ndcg@10", help="metric for per-query charts and wins/losses")
    sp.add_argument("--save-run", metavar="PATH", help="store mode: also write the run as a TREC file")
    sp.set_defaults(func=cmd_eval)
    return sp


def _labels(args: argparse.Namespace, default: tuple[str, str]) -> tuple[str, str]:
    if not args.labels:
        return default
    parts = [p.strip() for p in args.labels.split(",")]
    if len(parts) != 2 or not all(parts):
        raise UsageError("--labels takes two names separated by a comma, e.g. 'baseline,new'")
    return parts[0], parts[1]


def _load_judged(
    path: str, queries_path: str | None, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], Qrels, Judgments]:
    from ..evaluate.judgments import align, load_judgments, load_queries, parse_grade_map

    j = load_judgments(path, grade_map=parse_grade_map(args.grade_map), scale=args.grade_scale)
    queries: list[dict[str, Any]] | None = None
    if queries_path:
        queries = load_queries(queries_path)
        base = Path(queries_path).parent
        for q in queries:
            if q.get("image") and not Path(q["image"]).is_absolute():
                q["image"] = str((base / q["image"]).resolve())
    kept, qrels, unmatched = align(j, queries)
    if unmatched:
        logger.info(f"note: {len(unmatched)} judged queries have no match in the query file, e.g. {unmatched[:3]}")
    if not kept:
        raise UsageError(f"no query in {queries_path or path} has judgments in {path}")
    return kept, qrels, j


def _search(
    store: str, queries: list[dict[str, Any]], k: int, threads: int | None, progress: bool
) -> tuple[Run, list[str]]:
    from ..config import EncoderConfig, EngineConfig
    from ..engine import Engine

    if not Path(store).is_dir():
        raise UsageError(f"store not found: {store}")
    cfg = EngineConfig(encoders=EncoderConfig(threads=threads)) if threads else None
    engine = Engine.open(store, cfg)
    from tqdm import tqdm

    results: list[tuple[str, list[tuple[str, float]]]] = []
    with tqdm(
        total=len(queries),
        desc=f"searching {Path(store).name}",
        unit="q",
        disable=None if progress else True,
        file=sys.stderr,
    ) as bar:
        for i in range(0, len(queries), SEARCH_CHUNK):
            chunk = queries[i : i + SEARCH_CHUNK]
            batch = [{k2: q[k2] for k2 in ("text", "image", "filters") if q.get(k2)} for q in chunk]
            for q, res in zip(chunk, engine.search_batch(batch, k=k)):
                results.append((q["qid"], [(h.id, h.score) for h in res.hits]))
            bar.update(len(chunk))
    run, rescored = run_from_hits(results)
    for q in queries:
        run.setdefault(q["qid"], {})
    return {q: d for q, d in run.items() if d}, rescored


def _table(evals: Sequence[tuple[str, Evaluation]]) -> str:
    names = list(evals[0][1].metrics)
    width = max(len(n) for n in names) + 2
    head = "metric".ljust(width) + "".join(f"{lab:>14}" for lab, _ in evals) + ("         Δ" if len(evals) == 2 else "")
    lines = [head, "-" * len(head)]
    for n in names:
        vals = [ev.metrics[n] for _, ev in evals]
        row = n.ljust(width) + "".join(f"{'n/a' if math.isnan(v) else f'{v:.4f}':>14}" for v in vals)
        if len(vals) == 2:
            row += "       n/a" if any(math.isnan(v) for v in vals) else f"{vals[1] - vals[0]:>+10.4f}"
        lines.append(row)
    lines.append(f"({', '.join(f'{lab}: {len(ev.per_query)} queries' for lab, ev in evals)})")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    from ..evaluate.report import RunResult, compare, write_report

    metrics = [canonical(m) for m in args.metrics.split(",") if m.strip()]
    primary = canonical(args.primary)
    if primary not in metrics and not primary.startswith(("roc_auc", "avg_precision")):
        metrics.append(primary)
    texts: dict[str, str] = {}
    notes: list[str] = []
    if args.run or args.qrels:
        if args.store or args.judgments:
            raise UsageError("use either --run/--qrels or --store/--judgments, not both")
        if not (args.run and args.qrels):
            raise UsageError("file mode needs both --run and --qrels")
        queries: list[dict[str, Any]] | None = None
        if args.queries:
            queries, qrels, _ = _load_judged(args.qrels, args.queries, args)
            texts = {q["qid"]: q.get("text") or "" for q in queries}
        else:
            from ..evaluate.judgments import load_judgments, parse_grade_map

            j = load_judgments(args.qrels, grade_map=parse_grade_map(args.grade_map), scale=args.grade_scale)
            qrels, texts = j.qrels, j.texts
        run_a, src_a = read_run(args.run), args.run
        labels = _labels(args, (Path(args.run).stem, Path(args.compare).stem if args.compare else "B"))
    elif args.store:
        if not args.judgments:
            raise UsageError("store mode needs --judgments (and --queries unless the judgments carry query texts)")
        queries, qrels, _ = _load_judged(args.judgments, args.queries, args)
        texts = {q["qid"]: q.get("text") or "" for q in queries}
        run_a, rescored = _search(args.store, queries, args.k, args.threads, not args.quiet)
        src_a = f"store {args.store}"
        if rescored:
            notes.append(
                f"{Path(args.store).name}: {len(rescored)} queries had tied or out-of-order scores; "
                "ranks were used as scores so the displayed order is what is scored."
            )
        if args.save_run:
            write_run(args.save_run, run_a, tag=Path(args.store).name.replace(" ", "_") or "shoplens")
        labels = _labels(args, (Path(args.store).name or "A", Path(args.compare).name if args.compare else "B"))
    else:
        raise UsageError("give --run and --qrels, or --store and --judgments")

    ev_a = evaluate(run_a, qrels, metrics, rel_level=args.rel_level, progress=not args.quiet)
    if not ev_a.per_query:
        raise UsageError("no query appears in both the run and the judgments (check query ids)")
    evals = [(labels[0], ev_a, run_a, src_a)]
    if args.compare:
        if Path(args.compare).is_dir():
            if not args.store and queries is None:
                raise UsageError("comparing against a store needs --queries or judgments with query texts")
            qs = queries if queries is not None else [{"qid": q, "text": t, "filters": {}} for q, t in texts.items()]
            run_b, rescored = _search(args.compare, qs, args.k, args.threads, not args.quiet)
            if rescored:
                notes.append(
                    f"{Path(args.compare).name}: {len(rescored)} queries had tied or out-of-order scores; "
                    "ranks were used as scores."
                )
            src_b = f"store {args.compare}"
        else:
            run_b, src_b = read_run(args.compare), args.compare
        evals.append((labels[1], evaluate(run_b, qrels, metrics, rel_level=args.rel_level), run_b, src_b))

    payload: dict[str, Any] = ev_a.to_json()
    if len(evals) == 2:
        ev_b = evals[1][1]
        payload["labels"] = list(labels)
        payload["compare"] = {
            **ev_b.to_json(),
            "wins_losses": {m: compare(ev_a, ev_b, m) for m in metrics if m in next(iter(ev_a.per_query.values()))},
        }
    if args.report:
        out = Path(args.report)
        out.mkdir(parents=True, exist_ok=True)
        for lab, _, run, _ in evals:
            write_run(out / f"run_{_safe(lab)}.txt", run, tag=_safe(lab))
        write_qrels(out / "qrels.txt", qrels)
        (out / "metrics.json").write_text(json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        index = write_report(
            out,
            [RunResult(lab, ev, texts, src) for lab, ev, _, src in evals],
            title="shoplens evaluation" + (f": {labels[0]} vs {labels[1]}" if len(evals) == 2 else ""),
            primary=primary,
            notes=notes,
        )
        logger.info(f"report: {index}")
    for n in notes:
        logger.info("note: " + n)
    if ev_a.only_in_qrels:
        logger.info(
            f"note: {len(ev_a.only_in_qrels)} judged queries have no results in {labels[0]} and are not averaged "
            "(trec_eval semantics)"
        )
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, sort_keys=False))
    else:
        print(_table([(lab, ev) for lab, ev, _, _ in evals]))
    return 0


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "run"


# ------------------------------------------------------------------------ judgments


def add_judgments_parser(subparsers: Any) -> argparse.ArgumentParser:
    sp = subparsers.add_parser("judgments", help="build relevance judgments from catalog attributes or clicks")
    sub = sp.add_subparsers(dest="judgments_command", required=True)

    a = sub.add_parser(
        "from-attributes",
        help="attribute queries ('women blue jeans') + graded qrels from a catalog",
        description="Grade 2: all queried attributes and the product type match; grade 1: type "
        "and gender match; grade 0: sampled near misses.",
    )
    a.add_argument("catalog", help="catalog file (CSV, JSONL or Parquet)")
    a.add_argument("--fields", default="gender,baseColour", help="attribute columns worded into the query (in order)")
    a.add_argument(
        "--type-from",
        default="title",
        help="'title' (derive the product type from the title), an attribute column, or 'none'",
    )
    a.add_argument("--lang", default="en", help="en, zh or en,zh (Chinese wording from the lexicon)")
    a.add_argument(
        "--max-queries",
        type=int,
        help="attribute combinations to keep (each gives one query per language; default 200)",
    )
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--min-relevant", type=int, help="fully matching products a query needs (default 3)")
    a.add_argument(
        "--max-share",
        type=float,
        help="drop queries where more than this share of the catalog is relevant (default 0.25)",
    )
    a.add_argument("--negatives", type=int, help="grade-0 near misses judged per query (default 50)")
    a.add_argument("--store", help="take defaults from this store's shoplens.toml [evaluate] table")
    a.add_argument("--out", required=True, help="qrels output path")
    a.add_argument("--queries-out", help="queries JSONL output (default: OUT with .queries.jsonl)")
    a.set_defaults(func=cmd_from_attributes)

    c = sub.add_parser("from-clicks", help="implicit judgments from UBI query/event logs (position-debiased)")
    c.add_argument("events", nargs="+", help="UBI .ndjson files (queries and/or events, bulk format or plain)")
    c.add_argument(
        "--model",
        choices=("pbm", "coec", "ctr"),
        default="pbm",
        help="pbm: position-based click model fitted by EM (default); coec: clicks over expected clicks; ctr: raw",
    )
    c.add_argument("--thresholds", help="estimate thresholds for grades 1,2,3..., e.g. '0.25,0.4,0.6'")
    c.add_argument("--min-impressions", type=int, help="judge only pairs shown at least this often (default 1)")
    c.add_argument("--store", help="take defaults from this store's shoplens.toml [evaluate] table")
    c.add_argument(
        "--click-actions",
        default="click,item_click,add_to_cart,purchase",
        help="UBI action_name values that count as a click",
    )
    c.add_argument("--prior", help="pbm: pseudo-counts 'attractive,unattractive' per pair (default 1,4)")
    c.add_argument("--out", required=True, help="qrels output path")
    c.add_argument("--queries-out", help="queries JSONL output (default: OUT with .queries.jsonl)")
    c.add_argument("--estimates-out", help="CSV of per-pair impressions, clicks, ctr, coec, pbm")
    c.set_defaults(func=cmd_from_clicks)
    return sp


def _evaluate_settings(args: argparse.Namespace, flags: dict[str, Any]):
    """The [evaluate] settings: flags given > the store's shoplens.toml (with --store) > defaults."""
    from ..config_file import load_settings

    return load_settings(args.store, overrides={k: v for k, v in flags.items() if v is not None}).evaluate


def _queries_out(args: argparse.Namespace) -> Path:
    if args.queries_out:
        return Path(args.queries_out)
    out = Path(args.out)
    return out.with_name(out.stem + ".queries.jsonl")


def cmd_from_attributes(args: argparse.Namespace) -> int:
    from ..catalog import load_catalog, log_report
    from ..evaluate.judgments import from_attributes, write_queries

    products, report = load_catalog(args.catalog)
    log_report(report)
    langs = tuple(l.strip() for l in args.lang.split(",") if l.strip())
    bad = [l for l in langs if l not in ("en", "zh")]
    if bad or not langs:
        raise UsageError(f"--lang: unsupported language(s) {bad or args.lang!r}; use en, zh or en,zh")
    type_from = None if args.type_from.lower() == "none" else args.type_from
    ev = _evaluate_settings(
        args,
        {
            "evaluate.max_queries": args.max_queries,
            "evaluate.min_relevant": args.min_relevant,
            "evaluate.max_share": args.max_share,
            "evaluate.negatives": args.negatives,
        },
    )
    queries, j = from_attributes(
        products,
        [f.strip() for f in args.fields.split(",") if f.strip()],
        type_from,
        langs,
        ev.max_queries,
        args.seed,
        ev.min_relevant,
        ev.max_share,
        ev.negatives,
        progress=not args.quiet,
    )
    if not queries:
        raise UsageError(
            "no attribute combination qualified; try other --fields, a lower --min-relevant or a higher --max-share"
        )
    write_qrels(args.out, j.qrels)
    qout = _queries_out(args)
    write_queries(qout, queries)
    n = sum(len(d) for d in j.qrels.values())
    print(f"{len(queries)} queries, {n} judgments -> {args.out}, {qout}")
    return 0


def cmd_from_clicks(args: argparse.Namespace) -> int:
    from ..evaluate.clicks import estimate, fit_pbm, read_ubi, to_judgments, write_estimates
    from ..evaluate.judgments import write_queries

    actions = tuple(a.strip() for a in args.click_actions.split(",") if a.strip())
    log = read_ubi(args.events, click_actions=actions)
    if not log.impressions:
        raise UsageError(f"no impressions with query text found in {', '.join(args.events)}")
    if args.prior is not None:
        try:
            a, b = (float(x) for x in args.prior.split(","))
        except ValueError:
            raise UsageError("--prior takes two numbers, e.g. '1,4'") from None
    ev = _evaluate_settings(
        args,
        {
            "evaluate.min_impressions": args.min_impressions,
            "evaluate.pbm_prior": [a, b] if args.prior is not None else None,
        },
    )
    a, b = ev.pbm_prior
    fit = fit_pbm(log.impressions, prior=(a, b), progress=not args.quiet)
    if not fit.converged:
        logger.warning(f"the click model did not converge in {fit.iterations} iterations")
    est = estimate(log.impressions, fit)
    thresholds = (
        [float(t) for t in args.thresholds.split(",")] if args.thresholds else ev.click_thresholds.get(args.model)
    )
    j = to_judgments(est, args.model, thresholds, ev.min_impressions)
    write_qrels(args.out, j.qrels)
    qout = _queries_out(args)
    write_queries(qout, [{"qid": q, "text": t, "filters": {}} for q, t in sorted(j.texts.items())])
    if args.estimates_out:
        write_estimates(args.estimates_out, est)
    s = log.stats
    grades: dict[int, int] = {}
    for d in j.qrels.values():
        for g in d.values():
            grades[g] = grades.get(g, 0) + 1
    print(
        f"{s['searches']} searches, {s['impressions']} impressions, {s['clicks']} clicks; "
        f"click model: {fit.iterations} EM iterations ({'converged' if fit.converged else 'not converged'})"
    )
    print(
        f"{len(j.qrels)} queries, {sum(grades.values())} judgments (grades {dict(sorted(grades.items()))}) "
        f"-> {args.out}, {qout}"
    )
    return 0

"""`shoplens feedback import|log|stats`: the shoppers' side of the loop, from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import UsageError


def add_feedback_parser(subparsers: Any) -> None:
    sp = subparsers.add_parser("feedback", help="import, record and summarise shopper behaviour (UBI)")
    sub = sp.add_subparsers(dest="feedback_command", required=True)

    p = sub.add_parser(
        "import",
        help='import UBI NDJSON queries and events (bulk {"index": ...} lines allowed)',
        description="Bad lines are reported with their number and skipped; importing a file twice stores it once.",
    )
    p.add_argument("file", nargs="+")
    p.add_argument("--store", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "log",
        help="record events for a logged search (EVENT.json: one event, a JSON list, or JSON lines; '-' = stdin)",
    )
    p.add_argument("events")
    p.add_argument("--store", required=True)
    p.add_argument("--query-id", help="the search the events belong to (when the events do not say)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("stats", help="what the store's feedback log holds")
    p.add_argument("--store", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)


def _open_log(store: str):
    from pathlib import Path

    from ..feedback.log import FeedbackLog

    if not Path(store).is_dir():
        raise UsageError(f"{store}: no such store directory")
    return FeedbackLog(store)


def cmd_import(args: argparse.Namespace) -> int:
    from ..feedback.ubi_import import import_ubi

    log = _open_log(args.store)
    try:
        reports = [import_ubi(log, f) for f in args.file]
    finally:
        log.close()
    for r in reports:
        print(json.dumps(r.to_json()) if args.json else r.summary())
    return 0


def _read_events(src: str) -> list[Any]:
    text = sys.stdin.read() if src == "-" else _read_file(src)
    try:
        obj = json.loads(text)
        return obj if isinstance(obj, list) else [obj]
    except json.JSONDecodeError:
        pass
    from ..jsonlines import iter_objects

    out = []
    for n, obj, err in iter_objects(text.splitlines()):
        if err:
            raise UsageError(f"{src}, line {n}: {err}")
        out.append(obj)
    return out


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"{path}: cannot read ({e.strerror})") from None


def cmd_log(args: argparse.Namespace) -> int:
    events = _read_events(args.events)
    if args.query_id:
        events = [{**e, "query_id": e.get("query_id") or args.query_id} if isinstance(e, dict) else e for e in events]
    log = _open_log(args.store)
    try:
        report = log.record_events(events)
    finally:
        log.close()
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"{report.stored} events stored, {report.duplicates} already logged, {len(report.refused)} refused")
        for i, why in report.refused:
            print(f"  - event {i + 1}: {why}")
    return 2 if report.refused and not report.stored and not report.duplicates else 0


def cmd_stats(args: argparse.Namespace) -> int:
    log = _open_log(args.store)
    try:
        st = log.stats()
    finally:
        log.close()
    if args.json:
        print(json.dumps(st))
        return 0
    print(f"{st['queries']} logged searches, {st['events']} events, {st['users']} users")
    for a, n in st["events_by_action"].items():
        print(f"  {a:<12} {n}")
    print(f"  events citing a logged search: {st['events_linked_to_logged_queries']}")
    if st["first_event"]:
        print(f"  from {st['first_event']} to {st['last_event']}")
    return 0

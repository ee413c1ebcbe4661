"""Import UBI NDJSON files (with or without OpenSearch bulk `{"index": ...}` lines) into the store's log.

A line is either a query document (no `action_name`) or an event document. Bad lines are reported
with their line number and reason and skipped; the rest is written in transactions of `batch_size`
documents, so an import killed midway leaves every finished batch logged and re-running it only
adds what is missing (queries are keyed by `query_id`, events by `event_id` or a content hash).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import EventError
from ..jsonlines import iter_objects
from .log import ACTIONS, Event, FeedbackLog, QueryDoc

BULK_ACTIONS = ("index", "create", "update", "delete")
# UBI lets every application name its own actions; these mean what shoplens calls click / hover.
ACTION_ALIASES = {"item_click": "click", "product_click": "click", "product_hover": "hover"}


@dataclass
class ImportReport:
    """What one import did; `skipped` lists (line number, reason)."""

    file: str
    queries_stored: int = 0
    queries_duplicate: int = 0
    events_stored: int = 0
    events_duplicate: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    # Well-formed events whose action shoplens does not learn from (UBI apps log 'search', 'page_exit', ...)
    ignored_actions: Counter = field(default_factory=Counter)

    def summary(self, examples: int = 5) -> str:
        lines = [
            f"{self.file}: {self.queries_stored} queries and {self.events_stored} events stored, "
            f"{self.queries_duplicate + self.events_duplicate} already in the log, {len(self.skipped)} lines skipped"
        ]
        if self.ignored_actions:
            lines.append(
                f"  {sum(self.ignored_actions.values())} events with actions shoplens does not use were not stored: "
                + ", ".join(f"{a} ({n})" for a, n in self.ignored_actions.most_common())
            )
        lines += [f"  - line {n}: {why}" for n, why in self.skipped[:examples]]
        if len(self.skipped) > examples:
            lines.append(f"  ... and {len(self.skipped) - examples} more")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "queries_stored": self.queries_stored,
            "queries_duplicate": self.queries_duplicate,
            "events_stored": self.events_stored,
            "events_duplicate": self.events_duplicate,
            "skipped": [{"line": n, "error": why} for n, why in self.skipped],
            "ignored_actions": dict(self.ignored_actions),
        }


def _documents(f: IO[str]) -> Iterator[tuple[int, Any, str | None]]:
    for no, d, err in iter_objects(f):
        if err is None and isinstance(d, dict) and len(d) == 1 and next(iter(d)) in BULK_ACTIONS:
            continue  # the bulk action line ahead of a document
        yield no, d, err


def import_ubi(log: FeedbackLog, path: str | Path, batch_size: int = 1000) -> ImportReport:
    """Validate every line, then store queries and events batch by batch (one transaction each)."""
    path = Path(path)
    if not path.is_file():
        raise EventError(f"{path}: file not found")
    report = ImportReport(str(path))
    queries: list[QueryDoc] = []
    events: list[Event] = []

    def flush() -> None:
        if queries or events:
            (qs, qd), (es, ed) = log.store_batch(queries, events)
            report.queries_stored += qs
            report.queries_duplicate += qd
            report.events_stored += es
            report.events_duplicate += ed
            queries.clear()
            events.clear()

    with open(path, encoding="utf-8-sig") as f:
        for no, d, err in _documents(f):
            if err is not None:
                report.skipped.append((no, err))
                continue
            try:
                if isinstance(d, dict) and "action_name" not in d:
                    queries.append(QueryDoc.from_ubi(d))
                else:
                    action = d.get("action_name") if isinstance(d, dict) else None
                    if isinstance(action, str) and action in ACTION_ALIASES:
                        d = {**d, "action_name": ACTION_ALIASES[action]}
                    elif isinstance(action, str) and action.strip() and action not in ACTIONS:
                        report.ignored_actions[action] += 1
                        continue
                    events.append(Event.from_ubi(d))
            except EventError as e:
                report.skipped.append((no, str(e)))
                continue
            if len(queries) + len(events) >= batch_size:
                flush()
        flush()
    return report

"""`feedback import`: UBI NDJSON (bulk lines or not) into the store's log; bad lines reported, idempotent,
a killed import leaves a consistent log. Reads the real UBI sample from the shared data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shoplens.errors import EventError
from shoplens.feedback.log import FeedbackLog
from shoplens.feedback.ubi_import import import_ubi

from ..conftest import SHARED

UBI = SHARED / "ubi_sample" / "ubi_queries_events.ndjson"


USED = {"impression", "click", "add_to_cart", "purchase", "dwell", "hover", "item_click", "product_hover"}


def _documents(path: Path) -> tuple[int, int, int]:
    """Distinct query ids, events shoplens learns from, and other events in a bulk file, counted
    independently of the importer."""
    q, e, other = set(), 0, 0
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        if set(d) <= {"index", "create"}:
            continue
        if "action_name" in d:
            e += d["action_name"] in USED
            other += d["action_name"] not in USED
        else:
            q.add(d["query_id"])
    return len(q), e, other


def test_import_real_ubi_sample_twice_counts_once(tmp_path):
    n_queries, n_events, n_other = _documents(UBI)
    log = FeedbackLog(tmp_path)
    first = import_ubi(log, UBI, batch_size=500)
    assert first.queries_stored == n_queries and n_queries > 100  # a query id repeated in the file counts once
    assert first.events_stored + len(first.skipped) == n_events
    assert len(first.skipped) < n_events * 0.05
    assert sum(first.ignored_actions.values()) == n_other and "search" in first.ignored_actions
    second = import_ubi(log, UBI)
    assert second.queries_stored == 0 and second.events_stored == 0
    assert second.events_duplicate == first.events_stored
    assert log.counts() == {"queries": n_queries, "events": first.events_stored}
    # the log reads back as UBI documents with the hit lists under the UBI name
    docs = list(log.to_ubi())
    assert sum("action_name" in d for d in docs) == first.events_stored


def test_bad_lines_are_reported_and_skipped(tmp_path):
    good_q = {"query_id": "q1", "user_query": "red dress", "query_response_hit_ids": ["a", "b"]}
    good_e = {"query_id": "q1", "action_name": "click", "event_attributes": {"object": {"object_id": "a"}}}
    lines = [
        json.dumps({"index": {"_index": "ubi_queries"}}),
        json.dumps(good_q),
        "{not json",
        json.dumps({"action_name": 42, "event_attributes": {"object": {"object_id": "a"}}}),
        json.dumps({"action_name": "page_exit"}),
        json.dumps({"user_query": "no id"}),
        json.dumps(good_e),
        json.dumps({**good_e, "event_attributes": {"object": {"object_id": "b"}, "position": {"ordinal": -3}}}),
        "[1, 2]",
    ]
    f = tmp_path / "mixed.ndjson"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = FeedbackLog(tmp_path)
    rep = import_ubi(log, f)
    assert (rep.queries_stored, rep.events_stored) == (1, 1)
    assert [n for n, _ in rep.skipped] == [3, 4, 6, 8, 9]
    assert rep.ignored_actions == {"page_exit": 1}
    why = dict(rep.skipped)
    assert "invalid JSON" in why[3] and "action_name" in why[4] and "query_id" in why[6] and "position" in why[8]
    assert log.counts() == {"queries": 1, "events": 1}


def test_import_killed_midway_leaves_a_consistent_log(tmp_path):
    n_queries, _, _ = _documents(UBI)

    class DiesAfterFirstBatch(FeedbackLog):
        batches = 0

        def store_batch(self, queries, events):
            if self.batches == 1:
                raise KeyboardInterrupt
            self.batches += 1
            return super().store_batch(queries, events)

    dying = DiesAfterFirstBatch(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        import_ubi(dying, UBI, batch_size=300)
    dying.close()
    log = FeedbackLog(tmp_path)
    partial = log.counts()
    assert sum(partial.values()) == 300  # exactly the finished batch, nothing half-written
    import_ubi(log, UBI, batch_size=300)  # re-running completes it
    clean = FeedbackLog(tmp_path / "clean")
    import_ubi(clean, UBI)
    assert log.counts() == clean.counts() and log.counts()["queries"] == n_queries


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(EventError, match="not found"):
        import_ubi(FeedbackLog(tmp_path), tmp_path / "nope.ndjson")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shoplens", *args], capture_output=True, text=True, timeout=120)


def test_cli_feedback_import_log_stats(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    r = _cli("feedback", "import", str(UBI), "--store", str(store), "--json")
    assert r.returncode == 0, r.stderr
    imported = json.loads(r.stdout)
    assert imported["queries_stored"] > 0
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps([{"action_name": "click", "object_id": "B0001", "position": 2}, {"action_name": "x"}]))
    r = _cli("feedback", "log", str(ev), "--store", str(store), "--query-id", "q-cli")
    assert r.returncode == 0 and "1 events stored" in r.stdout and "event 2: 'action_name'" in r.stdout
    r = _cli("feedback", "stats", "--store", str(store), "--json")
    st = json.loads(r.stdout)
    assert st["events"] == imported["events_stored"] + 1 and st["events_by_action"]["click"] >= 1
    r = _cli("feedback", "log", str(tmp_path / "missing.json"), "--store", str(store))
    assert r.returncode == 2 and "cannot read" in r.stderr

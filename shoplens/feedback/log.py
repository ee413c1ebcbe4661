"""The store's feedback log, shaped like OpenSearch User Behavior Insights.

It lives at STORE/feedback.sqlite, outside the generations, so rebuilding the
index never loses behaviour data. Rows mirror UBI's query and event documents
so `shoplens judgments from-clicks` and the (later) ranker read one format.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ACTIONS = {"impression", "click", "add_to_cart", "purchase", "dwell", "hover"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    query_id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, client_id TEXT, user_query TEXT,
    query_response_object_ids TEXT, query_attributes TEXT);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT, query_id TEXT, timestamp TEXT NOT NULL,
    action_name TEXT NOT NULL, client_id TEXT, session_id TEXT, object_id TEXT,
    position INTEGER, dwell_ms INTEGER, event_attributes TEXT);
CREATE INDEX IF NOT EXISTS events_query ON events (query_id);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class FeedbackLog:
    def __init__(self, store: str | Path):
        self.path = Path(store) / "feedback.sqlite"
        self.db = sqlite3.connect(str(self.path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def log_query(
        self,
        user_query: str | None,
        result_ids: list[str],
        client_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        query_id: str | None = None,
    ) -> str:
        qid = query_id or uuid.uuid4().hex
        with self.db:
            self.db.execute(
                "INSERT INTO queries VALUES (?,?,?,?,?,?)",
                (
                    qid,
                    _now(),
                    client_id,
                    user_query,
                    json.dumps(result_ids),
                    json.dumps(attributes or {}, ensure_ascii=False),
                ),
            )
        return qid

    def log_event(
        self,
        action: str,
        object_id: str,
        *,
        query_id: str | None = None,
        position: int | None = None,
        client_id: str | None = None,
        session_id: str | None = None,
        dwell_ms: int | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown action '{action}'; expected one of {sorted(ACTIONS)}")
        if position is not None and (not isinstance(position, int) or position < 0):
            raise ValueError(f"position must be a non-negative integer, got {position!r}")
        with self.db:
            self.db.execute(
                "INSERT INTO events (query_id, timestamp, action_name, client_id, session_id, object_id,"
                " position, dwell_ms, event_attributes) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    query_id,
                    _now(),
                    action,
                    client_id,
                    session_id,
                    object_id,
                    position,
                    dwell_ms,
                    json.dumps(attributes or {}, ensure_ascii=False),
                ),
            )

    def to_ubi(self) -> Iterator[dict[str, Any]]:
        """Queries then events as UBI documents (what the click-judgment builder reads)."""
        for qid, ts, cid, uq, ids, attrs in self.db.execute("SELECT * FROM queries ORDER BY timestamp"):
            yield {
                "query_id": qid,
                "timestamp": ts,
                "client_id": cid,
                "user_query": uq,
                "query_response_object_ids": json.loads(ids),
                "query_attributes": json.loads(attrs),
            }
        for _, qid, ts, action, cid, sid, oid, pos, dwell, attrs in self.db.execute(
            "SELECT * FROM events ORDER BY event_id"
        ):
            ev = {
                "query_id": qid,
                "timestamp": ts,
                "action_name": action,
                "client_id": cid,
                "session_id": sid,
                "event_attributes": {**json.loads(attrs), "object": {"object_id": oid, "object_id_field": "id"}},
            }
            if pos is not None:
                ev["event_attributes"]["position"] = {"ordinal": pos}
            if dwell is not None:
                ev["event_attributes"]["dwell_time"] = dwell
            yield ev

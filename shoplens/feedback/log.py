"""The store's feedback log, shaped like OpenSearch User Behavior Insights (UBI).

It lives at STORE/feedback.sqlite, outside the generations, so rebuilding the
index never loses behaviour data. Rows mirror UBI's query and event documents
(`query_response_hit_ids`, `event_attributes.object.object_id`,
`event_attributes.position.ordinal`), so `shoplens judgments from-clicks`, the
HTTP server's `/events`, `feedback import` and the ranker read one format.

Events are validated one by one: a bad event is refused with its reason and
never stops the others; each event has a key (its UBI id when given, else a
hash of its content) so recording the same event twice stores it once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EventError

ACTIONS = frozenset({"impression", "click", "add_to_cart", "purchase", "dwell", "hover"})
MAX_ID_CHARS = 200
MAX_ATTRIBUTES_BYTES = 8192
LOG_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (
    query_id TEXT PRIMARY KEY, timestamp TEXT NOT NULL, client_id TEXT, user_id TEXT, session_id TEXT,
    user_query TEXT, query_response_hit_ids TEXT, query_attributes TEXT);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT, event_key TEXT UNIQUE, query_id TEXT, timestamp TEXT NOT NULL,
    action_name TEXT NOT NULL, client_id TEXT, user_id TEXT, session_id TEXT, object_id TEXT,
    position INTEGER, dwell_ms INTEGER, event_attributes TEXT);
CREATE INDEX IF NOT EXISTS events_query ON events (query_id);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id);
CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT);
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise EventError(f"'{key}' must be a string, got {type(v).__name__}")
    v = str(v)
    if len(v) > MAX_ID_CHARS:
        raise EventError(f"'{key}' is longer than {MAX_ID_CHARS} characters")
    return v


def _timestamp(d: dict[str, Any]) -> str:
    ts = d.get("timestamp")
    if ts is None:
        return _now()
    if not isinstance(ts, str):
        raise EventError(f"'timestamp' must be an ISO-8601 string, got {type(ts).__name__}")
    try:
        parsed = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        raise EventError(f"'timestamp' is not ISO-8601: {ts!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    """One validated behaviour event (UBI event document, flattened)."""

    action_name: str
    object_id: str | None
    query_id: str | None
    timestamp: str
    client_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    position: int | None = None
    dwell_ms: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    @classmethod
    def from_ubi(cls, d: Any) -> Event:
        """Accepts a UBI event document, or the flat form {action_name, object_id, position, dwell_ms, ...}."""
        if not isinstance(d, dict):
            raise EventError(f"an event must be a JSON object, got {type(d).__name__}")
        action = d.get("action_name")
        if not isinstance(action, str) or action not in ACTIONS:
            raise EventError(f"'action_name' must be one of {sorted(ACTIONS)}, got {action!r}")
        attrs = d.get("event_attributes") or {}
        if not isinstance(attrs, dict):
            raise EventError("'event_attributes' must be an object")
        obj = attrs.get("object") or {}
        if not isinstance(obj, dict):
            raise EventError("'event_attributes.object' must be an object")
        object_id = _opt_str(obj, "object_id") if "object_id" in obj else _opt_str(d, "object_id")
        if object_id is None and action != "dwell":
            raise EventError(f"a '{action}' event needs event_attributes.object.object_id")
        pos = attrs.get("position")
        ordinal = pos.get("ordinal") if isinstance(pos, dict) else d.get("position", pos)
        if ordinal is not None and (not isinstance(ordinal, int) or isinstance(ordinal, bool) or ordinal < 0):
            raise EventError(f"position must be a non-negative integer, got {ordinal!r}")
        dwell = attrs.get("dwell_time", d.get("dwell_ms"))
        if dwell is not None:
            if not isinstance(dwell, (int, float)) or isinstance(dwell, bool) or not 0 <= dwell < 86_400_000:
                raise EventError(f"dwell time must be milliseconds between 0 and a day, got {dwell!r}")
            dwell = int(dwell)
        rest = {k: v for k, v in attrs.items() if k not in ("object", "position", "dwell_time")}
        if len(json.dumps(rest, ensure_ascii=False, default=str)) > MAX_ATTRIBUTES_BYTES:
            raise EventError(f"event_attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes")
        ev = cls(
            action_name=action,
            object_id=object_id,
            query_id=_opt_str(d, "query_id"),
            timestamp=_timestamp(d),
            client_id=_opt_str(d, "client_id"),
            user_id=_opt_str(d, "user_id"),
            session_id=_opt_str(d, "session_id"),
            position=ordinal,
            dwell_ms=dwell,
            attributes=rest,
        )
        given = _opt_str(d, "event_id")
        if given is None:
            payload = json.dumps(
                [action, object_id, ev.query_id, ev.timestamp, ev.client_id, ev.user_id, ev.session_id, ordinal, dwell],
                ensure_ascii=False,
            )
            given = hashlib.sha1(payload.encode("utf-8")).hexdigest()
        return cls(**{**ev.__dict__, "key": given})


@dataclass(frozen=True)
class QueryDoc:
    """One validated UBI query document (a search and the ids it answered, in order)."""

    query_id: str
    timestamp: str
    user_query: str | None = None
    client_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    hit_ids: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_ubi(cls, d: Any) -> QueryDoc:
        if not isinstance(d, dict):
            raise EventError(f"a query must be a JSON object, got {type(d).__name__}")
        qid = _opt_str(d, "query_id")
        if qid is None:
            raise EventError("a query document needs 'query_id'")
        uq = d.get("user_query")
        if uq is not None and not isinstance(uq, str):
            raise EventError(f"'user_query' must be a string, got {type(uq).__name__}")
        hits = d.get("query_response_hit_ids", d.get("query_response_object_ids")) or []
        if not isinstance(hits, list) or not all(isinstance(h, (str, int)) and not isinstance(h, bool) for h in hits):
            raise EventError("'query_response_hit_ids' must be a list of ids")
        attrs = d.get("query_attributes") or {}
        if not isinstance(attrs, dict):
            raise EventError("'query_attributes' must be an object")
        if len(json.dumps(attrs, ensure_ascii=False, default=str)) > MAX_ATTRIBUTES_BYTES:
            raise EventError(f"query_attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes")
        return cls(
            query_id=qid,
            timestamp=_timestamp(d),
            user_query=uq,
            client_id=_opt_str(d, "client_id"),
            user_id=_opt_str(d, "user_id"),
            session_id=_opt_str(d, "session_id"),
            hit_ids=tuple(str(h) for h in hits),
            attributes=attrs,
        )


@dataclass
class EventReport:
    """What `record_events` did: stored, already present (same key), refused with (index, reason)."""

    stored: int = 0
    duplicates: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "refused": [{"index": i, "error": why} for i, why in self.refused],
        }


class FeedbackLog:
    """One SQLite file per store; safe to share between threads (one connection, one lock)."""

    def __init__(self, store: str | Path):
        self.path = Path(store) / "feedback.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.db = sqlite3.connect(str(self.path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._upgrade()

    def _upgrade(self) -> None:
        """Logs written by shoplens 0.1 named the hit list `query_response_object_ids` and had no user,
        session or event-key columns: rename and add in place, keeping every row."""
        with self.db:
            cols = {r[1] for r in self.db.execute("PRAGMA table_info(queries)")}
            if "query_response_object_ids" in cols:
                self.db.execute("ALTER TABLE queries RENAME COLUMN query_response_object_ids TO query_response_hit_ids")
                for c in ("user_id", "session_id"):
                    self.db.execute(f"ALTER TABLE queries ADD COLUMN {c} TEXT")
                for c in ("event_key", "user_id"):
                    self.db.execute(f"ALTER TABLE events ADD COLUMN {c} TEXT")
                self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (event_key)")
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT OR REPLACE INTO log_meta VALUES ('version', ?)", (str(LOG_VERSION),))

    def close(self) -> None:
        self.db.close()

    def log_query(
        self,
        user_query: str | None,
        hit_ids: list[str],
        *,
        client_id: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        attributes: dict[str, Any] | None = None,
        query_id: str | None = None,
        timestamp: str | None = None,
    ) -> str:
        """Record one search and the ids it answered, in order; returns its query_id."""
        qid = query_id or uuid.uuid4().hex
        row = (
            qid,
            timestamp or _now(),
            client_id,
            user_id,
            session_id,
            user_query,
            json.dumps(list(hit_ids)),
            json.dumps(attributes or {}, ensure_ascii=False, default=str),
        )
        with self._lock, self.db:
            self.db.execute(
                "INSERT OR IGNORE INTO queries (query_id, timestamp, client_id, user_id, session_id, user_query,"
                " query_response_hit_ids, query_attributes) VALUES (?,?,?,?,?,?,?,?)",
                row,
            )
        return qid

    def record_events(self, events: Iterable[Any]) -> EventReport:
        """Validate and store events in one transaction; bad ones are refused with their index and reason."""
        report = EventReport()
        rows = []
        for i, d in enumerate(events):
            try:
                ev = Event.from_ubi(d)
            except EventError as e:
                report.refused.append((i, str(e)))
                continue
            rows.append(ev)
        with self._lock, self.db:
            report.stored, report.duplicates = self._insert_events(rows)
        return report

    def _insert_events(self, rows: Iterable[Event]) -> tuple[int, int]:
        stored = dup = 0
        for ev in rows:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO events (event_key, query_id, timestamp, action_name, client_id, user_id,"
                " session_id, object_id, position, dwell_ms, event_attributes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    ev.key,
                    ev.query_id,
                    ev.timestamp,
                    ev.action_name,
                    ev.client_id,
                    ev.user_id,
                    ev.session_id,
                    ev.object_id,
                    ev.position,
                    ev.dwell_ms,
                    json.dumps(ev.attributes, ensure_ascii=False, default=str),
                ),
            )
            stored += bool(cur.rowcount)
            dup += not cur.rowcount
        return stored, dup

    def store_batch(
        self, queries: Iterable[QueryDoc], events: Iterable[Event]
    ) -> tuple[tuple[int, int], tuple[int, int]]:
        """Validated queries and events in one transaction: ((queries stored, duplicates), (events ...)).
        A query id already logged keeps its first record (imports are idempotent)."""
        qs = qd = 0
        with self._lock, self.db:
            for q in queries:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO queries (query_id, timestamp, client_id, user_id, session_id, user_query,"
                    " query_response_hit_ids, query_attributes) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        q.query_id,
                        q.timestamp,
                        q.client_id,
                        q.user_id,
                        q.session_id,
                        q.user_query,
                        json.dumps(list(q.hit_ids)),
                        json.dumps(q.attributes, ensure_ascii=False, default=str),
                    ),
                )
                qs += bool(cur.rowcount)
                qd += not cur.rowcount
            es, ed = self._insert_events(events)
        return (qs, qd), (es, ed)

    def queries(self, after: int = 0) -> list[tuple[int, QueryDoc]]:
        """(row id, logged search) in insertion order, after row `after` (an incremental reader's cursor)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT rowid, query_id, timestamp, user_query, client_id, user_id, session_id, query_response_hit_ids,"
                " query_attributes FROM queries WHERE rowid > ? ORDER BY rowid",
                (after,),
            ).fetchall()
        return [
            (rid, QueryDoc(qid, ts, uq, cid, uid, sid, tuple(json.loads(h or "[]")), json.loads(a or "{}")))
            for rid, qid, ts, uq, cid, uid, sid, h, a in rows
        ]

    def events(self, after_id: int = 0, user_id: str | None = None) -> list[tuple[int, Event]]:
        """(row id, event) in insertion order, after row `after_id` (an incremental reader's cursor)."""
        sql = (
            "SELECT event_id, event_key, query_id, timestamp, action_name, client_id, user_id, session_id,"
            " object_id, position, dwell_ms FROM events WHERE event_id > ?"
        )
        args: tuple = (after_id,)
        if user_id is not None:
            sql, args = sql + " AND (user_id = ? OR (user_id IS NULL AND client_id = ?))", (after_id, user_id, user_id)
        with self._lock:
            rows = self.db.execute(sql + " ORDER BY event_id", args).fetchall()
        return [
            (eid, Event(act, oid, qid, ts, cid, uid, sid, pos, dwell, {}, key))
            for eid, key, qid, ts, act, cid, uid, sid, oid, pos, dwell in rows
        ]

    def last_event_id(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT COALESCE(MAX(event_id), 0) FROM events").fetchone()[0])

    def log_event(
        self,
        action: str,
        object_id: str,
        *,
        query_id: str | None = None,
        position: int | None = None,
        client_id: str | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        dwell_ms: int | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """One event from Python; raises `EventError` when it is malformed."""
        doc = {
            "action_name": action,
            "object_id": object_id,
            "query_id": query_id,
            "position": position,
            "client_id": client_id,
            "user_id": user_id,
            "session_id": session_id,
            "dwell_ms": dwell_ms,
            "event_attributes": dict(attributes or {}),
            "event_id": uuid.uuid4().hex,
        }
        report = self.record_events([doc])
        if report.refused:
            raise EventError(report.refused[0][1])

    def counts(self) -> dict[str, int]:
        with self._lock:
            q = self.db.execute("SELECT COUNT(*) FROM queries").fetchone()[0]
            e = self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return {"queries": int(q), "events": int(e)}

    def stats(self) -> dict[str, Any]:
        """Counts per action, distinct users and sessions, time span: what `feedback stats` prints."""
        with self._lock:
            by_action = dict(self.db.execute("SELECT action_name, COUNT(*) FROM events GROUP BY action_name"))
            users = self.db.execute(
                "SELECT COUNT(DISTINCT COALESCE(user_id, client_id)) FROM queries WHERE COALESCE(user_id, client_id)"
                " IS NOT NULL"
            ).fetchone()[0]
            span = self.db.execute("SELECT MIN(timestamp), MAX(timestamp) FROM events").fetchone()
            linked = self.db.execute(
                "SELECT COUNT(*) FROM events e JOIN queries q ON e.query_id = q.query_id"
            ).fetchone()[0]
        return {
            **self.counts(),
            "events_by_action": {k: int(v) for k, v in sorted(by_action.items())},
            "events_linked_to_logged_queries": int(linked),
            "users": int(users),
            "first_event": span[0],
            "last_event": span[1],
        }

    def to_ubi(self) -> Iterator[dict[str, Any]]:
        """Queries then events as UBI documents (what the click-judgment builder reads)."""
        with self._lock:
            queries = self.db.execute(
                "SELECT query_id, timestamp, client_id, user_id, session_id, user_query, query_response_hit_ids,"
                " query_attributes FROM queries ORDER BY timestamp"
            ).fetchall()
            events = self.db.execute(
                "SELECT event_key, query_id, timestamp, action_name, client_id, user_id, session_id, object_id,"
                " position, dwell_ms, event_attributes FROM events ORDER BY event_id"
            ).fetchall()
        for qid, ts, cid, uid, sid, uq, ids, attrs in queries:
            yield {
                "query_id": qid,
                "timestamp": ts,
                "client_id": cid,
                "user_id": uid,
                "session_id": sid,
                "user_query": uq,
                "query_response_hit_ids": json.loads(ids or "[]"),
                "query_attributes": json.loads(attrs or "{}"),
            }
        for key, qid, ts, action, cid, uid, sid, oid, pos, dwell, attrs in events:
            ev: dict[str, Any] = {
                "event_id": key,
                "query_id": qid,
                "timestamp": ts,
                "action_name": action,
                "client_id": cid,
                "user_id": uid,
                "session_id": sid,
                "event_attributes": {
                    **json.loads(attrs or "{}"),
                    "object": {"object_id": oid, "object_id_field": "id"},
                },
            }
            if pos is not None:
                ev["event_attributes"]["position"] = {"ordinal": pos}
            if dwell is not None:
                ev["event_attributes"]["dwell_time"] = dwell
            yield ev

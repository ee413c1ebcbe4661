"""Shoppers' interactions read back from the store's feedback log, grouped into sessions.

Only actions that show interest count (clicks, add-to-cart, purchases, hovers; see
`RecommendConfig.action_weights`); impressions only say what the engine showed. Events that
carry no `session_id` are cut into sessions per user (or client) at inactivity gaps, as web
analytics do, so a log written by a server that never set sessions still yields co-views.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..config import RecommendConfig
from ..feedback.log import FeedbackLog


@dataclass(frozen=True)
class Interaction:
    """One interest event: who, which item, what they did, when (seconds since the epoch)."""

    item: str
    action: str
    ts: float
    session: str | None = None
    user: str | None = None
    weight: float = 1.0


def _epoch(ts: str) -> float:
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def read_interactions(log: FeedbackLog, cfg: RecommendConfig, user: str | None = None) -> list[Interaction]:
    """Interest events in time order (ties in log order); with `user`, only that shopper's (by
    user_id, or client_id when the event has no user_id)."""
    actions = [a for a, w in cfg.action_weights.items() if w > 0]
    sql = (
        "SELECT object_id, action_name, timestamp, session_id, COALESCE(user_id, client_id) FROM events"
        f" WHERE object_id IS NOT NULL AND action_name IN ({','.join('?' * len(actions))})"
    )
    params: list[str] = list(actions)
    if user is not None:
        sql += " AND (user_id = ? OR (user_id IS NULL AND client_id = ?))"
        params += [user, user]
    sql += " ORDER BY timestamp, event_id"
    with log._lock:  # the log's one connection is shared between threads
        rows = log.db.execute(sql, params).fetchall()
    return [
        Interaction(item=o, action=a, ts=_epoch(t), session=s, user=u, weight=float(cfg.action_weights[a]))
        for o, a, t, s, u in rows
    ]


def log_stamp(log: FeedbackLog) -> tuple[int, int]:
    """Changes whenever events are added: a fitted model is reused while it stays the same."""
    with log._lock:
        n, last = log.db.execute("SELECT COUNT(*), COALESCE(MAX(event_id), 0) FROM events").fetchone()
    return int(n), int(last)


def group_sessions(events: Iterable[Interaction], gap_s: float) -> list[list[Interaction]]:
    """Sessions in time order: by session_id when the event has one, else per user split at gaps
    longer than `gap_s`. Events with neither are dropped (nothing ties them to other events)."""
    by_id: dict[str, list[Interaction]] = defaultdict(list)
    by_user: dict[str, list[Interaction]] = defaultdict(list)
    for e in events:
        if e.session is not None:
            by_id[e.session].append(e)
        elif e.user is not None:
            by_user[e.user].append(e)
    sessions = list(by_id.values())
    for evs in by_user.values():
        cur = [evs[0]]
        for prev, e in zip(evs, evs[1:]):
            if e.ts - prev.ts > gap_s:
                sessions.append(cur)
                cur = []
            cur.append(e)
        sessions.append(cur)
    for s in sessions:
        s.sort(key=lambda e: e.ts)  # stable: log order breaks timestamp ties
    sessions.sort(key=lambda s: s[0].ts)
    return sessions

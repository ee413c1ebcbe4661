"""Shoppers' interactions read back from the store's feedback log, grouped into sessions.

Only actions that show interest count (clicks, add-to-cart, purchases, hovers; see
`RecommendConfig.action_weights`); impressions only say what the engine showed. Events that
carry no `session_id` are cut into sessions per user (or client) at inactivity gaps, as web
analytics do, so a log written by a server that never set sessions still yields co-views.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..config import RecommendConfig
from ..feedback.log import FeedbackLog
from ..feedback.profiles import epoch


@dataclass(frozen=True)
class Interaction:
    """One interest event: who, which item, what they did, when (seconds since the epoch)."""

    item: str
    action: str
    ts: float
    session: str | None = None
    user: str | None = None
    weight: float = 1.0


def read_interactions(log: FeedbackLog, cfg: RecommendConfig, user: str | None = None) -> list[Interaction]:
    """Interest events in time order (ties in log order); with `user`, only that shopper's (by
    user_id, or client_id when the event has no user_id), through the log's own reader."""
    rows = [
        (epoch(ev.timestamp), eid, ev)
        for eid, ev in log.events(user_id=user)
        if cfg.action_weights.get(ev.action_name, 0.0) > 0
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    return [
        Interaction(
            item=ev.object_id,
            action=ev.action_name,
            ts=ts,
            session=ev.session_id,
            user=ev.user_id or ev.client_id,
            weight=float(cfg.action_weights[ev.action_name]),
        )
        for ts, _, ev in rows
        if ev.object_id is not None  # events without a product say nothing about items
    ]


def log_stamp(log: FeedbackLog) -> tuple[int, int]:
    """Changes whenever events are added: a fitted model is reused while it stays the same."""
    return log.counts()["events"], log.last_event_id()


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

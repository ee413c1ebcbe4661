"""Behaviour features from the log: smoothed CTR, popularity, recency, per-query CTR, and user profiles.

`Behaviour` is fed the log in time order (searches and events). Training asks it for features of
each search *before* that search's own events are added, so nothing the ranker predicts leaks into
its inputs; a live engine keeps one instance and pulls new rows with `catch_up(log)`.

Impressions are the hit lists of logged searches (their first `shown` positions); a UBI
`impression` event counts only for a search whose hit list was not logged, so nothing counts twice.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from ..evaluate.judgments import normalise
from ..feedback.log import Event, FeedbackLog, QueryDoc
from ..feedback.profiles import ProfileBuilder, ProfileConfig, epoch

CLICKS = ("click", "add_to_cart", "purchase")


class Behaviour:
    def __init__(
        self,
        vectors_of: Callable[[str], dict[str, np.ndarray] | None],
        attributes_of: Callable[[str], dict[str, str] | None],
        shown: int = 10,
        profile_config: ProfileConfig | None = None,
    ):
        self.shown = shown
        self.impr: dict[str, float] = defaultdict(float)
        self.clicks: dict[str, float] = defaultdict(float)
        self.last_click: dict[str, float] = {}
        self.q_impr: dict[tuple[str, str], float] = defaultdict(float)
        self.q_clicks: dict[tuple[str, str], float] = defaultdict(float)
        self.total_impr = 0.0
        self.total_clicks = 0.0
        self.query_text: dict[str, str] = {}
        self.with_hits: set[str] = set()
        self.profiles = ProfileBuilder(vectors_of, attributes_of, profile_config)
        self._q_cursor = 0
        self._e_cursor = 0
        self._clicked: set[tuple[str, str]] = set()

    # -- feeding --------------------------------------------------------------------------
    def add_query(self, q: QueryDoc) -> None:
        key = normalise(q.user_query) if q.user_query else ""
        self.query_text[q.query_id] = key
        if q.hit_ids:
            self.with_hits.add(q.query_id)
            for pid in q.hit_ids[: self.shown]:
                self._impression(key, pid)

    def _impression(self, key: str, pid: str) -> None:
        self.impr[pid] += 1
        self.total_impr += 1
        if key:
            self.q_impr[key, pid] += 1

    def add_event(self, ev: Event) -> None:
        pid = ev.object_id
        if not pid:
            return
        key = self.query_text.get(ev.query_id or "", "")
        if ev.action_name == "impression":
            if ev.query_id not in self.with_hits:
                self._impression(key, pid)
            return
        if ev.action_name not in CLICKS:
            return
        when = epoch(ev.timestamp)
        self.profiles.add(ev.user_id or ev.client_id, pid, ev.action_name, when)
        if (ev.query_id or ev.key, pid) in self._clicked:  # a cart after a click is one success, not two
            return
        self._clicked.add((ev.query_id or ev.key, pid))
        self.clicks[pid] += 1
        self.total_clicks += 1
        self.last_click[pid] = max(when, self.last_click.get(pid, when))
        if key:
            self.q_clicks[key, pid] += 1

    def catch_up(self, log: FeedbackLog) -> int:
        """Pull rows logged since the last call (searches first, then events); returns how many."""
        qs = log.queries(self._q_cursor)
        for rid, q in qs:
            self.add_query(q)
            self._q_cursor = rid
        es = log.events(self._e_cursor)
        for eid, ev in es:
            self.add_event(ev)
            self._e_cursor = eid
        return len(qs) + len(es)

    # -- reading --------------------------------------------------------------------------
    def features(self, ids: list[str], query: str | None, now: float, prior_weight: float = 20.0) -> np.ndarray:
        """[n, 3]: smoothed CTR, recency of the last click, this query's smoothed CTR (features.BEHAVIOUR).

        CTRs are shrunk towards the log's mean CTR with `prior_weight` pseudo-impressions, so a product
        clicked once in one showing does not outrank one clicked 30 times in 100."""
        prior = (self.total_clicks + 1) / (self.total_impr + 10)
        key = normalise(query) if query else ""
        out = np.zeros((len(ids), 3), np.float32)
        for i, pid in enumerate(ids):
            im, cl = self.impr.get(pid, 0.0), self.clicks.get(pid, 0.0)
            out[i, 0] = (cl + prior_weight * prior) / (im + prior_weight) / prior
            last = self.last_click.get(pid)
            out[i, 1] = math.exp(-max(now - last, 0.0) / (7 * 86400.0)) if last is not None else 0.0
            if key:
                qi, qc = self.q_impr.get((key, pid), 0.0), self.q_clicks.get((key, pid), 0.0)
                out[i, 2] = (qc + prior_weight * prior) / (qi + prior_weight) / prior
            else:
                out[i, 2] = 1.0
        return out

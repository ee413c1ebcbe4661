"""Co-view / co-purchase neighbours and popularity, learned from sessions in the feedback log.

Item-to-item co-occurrence in the style of session item-kNN: two items chosen in one session
are related, more so when chosen close together (position distance), in that order (what
comes next), in recent sessions (time decay), and with stronger actions (a purchase says more
than a click). A shopper's recent items vote for their neighbours, the latest loudest.
`benchmarks/bench_recommend.py` runs exactly this model against popularity and a textbook
session-kNN on diginetica sessions.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..config import RecommendConfig
from .sessions import Interaction

DAY_S = 86_400.0


def _collapse_repeats(session: Sequence[Interaction]) -> list[tuple[str, float]]:
    """Consecutive events on one item (view, then add to cart) are one step with the strongest weight."""
    out: list[tuple[str, float]] = []
    for e in session:
        if out and out[-1][0] == e.item:
            out[-1] = (e.item, max(out[-1][1], e.weight))
        else:
            out.append((e.item, e.weight))
    return out


def recent_items(history: Sequence[Interaction], n: int) -> list[tuple[str, float]]:
    """The shopper's last `n` distinct items, latest first, each with its strongest action weight."""
    seen: dict[str, float] = {}
    for e in reversed(history):
        if e.item in seen:
            seen[e.item] = max(seen[e.item], e.weight)
        elif len(seen) < n:
            seen[e.item] = e.weight
    return list(seen.items())


class CoViewModel:
    """Fitted once per state of the log (see `Engine.recommend`); queries are dictionary look-ups."""

    def __init__(self, cfg: RecommendConfig):
        self.cfg = cfg
        self.pairs: dict[str, dict[str, float]] = defaultdict(dict)
        self.occurrences: dict[str, int] = defaultdict(int)  # sessions an item appears in
        self.popularity: dict[str, float] = defaultdict(float)
        self.sessions = 0
        self._by_popularity: list[tuple[str, float]] | None = None

    @classmethod
    def fit(cls, sessions: Iterable[Sequence[Interaction]], cfg: RecommendConfig, now: float | None = None):
        """`now` defaults to the newest event, so refitting an unchanged log gives the same model."""
        sessions = [s for s in sessions if s]
        m = cls(cfg)
        if not sessions:
            return m
        now = now if now is not None else max(e.ts for s in sessions for e in s)
        for s in sessions:
            m._add(s, now)
        return m

    def _add(self, session: Sequence[Interaction], now: float) -> None:
        cfg = self.cfg
        age_days = max(0.0, now - session[-1].ts) / DAY_S
        decay = 0.5 ** (age_days / cfg.half_life_days) if cfg.half_life_days > 0 else 1.0
        for e in session:
            age = max(0.0, now - e.ts) / DAY_S
            pd = 0.5 ** (age / cfg.popularity_half_life_days) if cfg.popularity_half_life_days > 0 else 1.0
            self.popularity[e.item] += e.weight * pd
        steps = _collapse_repeats(session)
        self.sessions += 1
        for item in {i for i, _ in steps}:
            self.occurrences[item] += 1
        for a, (ia, wa) in enumerate(steps):
            for b in range(a + 1, min(len(steps), a + 1 + cfg.window)):
                ib, wb = steps[b]
                if ia == ib:
                    continue
                w = decay * cfg.position_decay ** (b - a - 1) * math.sqrt(wa * wb)
                row = self.pairs[ia]
                row[ib] = row.get(ib, 0.0) + w
                if cfg.backward_weight > 0:
                    back = self.pairs[ib]
                    back[ia] = back.get(ia, 0.0) + cfg.backward_weight * w

    def neighbours(
        self, history: Sequence[Interaction], k: int, exclude: set[str] | frozenset[str] = frozenset()
    ) -> list[tuple[str, float]]:
        """Items co-chosen with the shopper's recent ones, best first (at most k)."""
        cfg = self.cfg
        scores: dict[str, float] = defaultdict(float)
        for rank, (item, weight) in enumerate(recent_items(history, cfg.history_items)):
            vote = weight * cfg.history_decay**rank
            for other, c in self.pairs.get(item, {}).items():
                if other not in exclude:
                    scores[other] += vote * c / self.occurrences[other] ** cfg.popularity_damping
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    def popular(self, k: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """Most chosen items, recent choices weighing more (the cold-start answer)."""
        if self._by_popularity is None:
            self._by_popularity = sorted(self.popularity.items(), key=lambda kv: (-kv[1], kv[0]))
        out: list[tuple[str, float]] = []
        for item, score in self._by_popularity:
            if len(out) >= k:
                break
            if item not in exclude:
                out.append((item, score))
        return out

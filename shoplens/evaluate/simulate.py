"""A shopper simulator, for tests and benchmarks of the learning loop. SIMULATED shoppers, not real ones.

Each simulated shopper belongs to a segment with a hidden taste (by default a colour family: dark,
warm or cool/light colours). Queries are built from the catalog's own attributes (gender + product
type, e.g. "women watch"); a product is relevant when it has the query's attributes. Shoppers run
searches through a callable you pass in (in practice `Engine.search(..., log=True)`), look at the
results with a position-biased click model with noise (P(examine) falls with rank; P(click |
examined) depends on relevance AND taste), and their clicks and carts are recorded through another
callable (in practice `Engine.record_events`) as UBI events: the engine learns from its own results.

Quality is judged against the hidden taste: grade 2 = relevant and in taste, 1 = relevant, 0 = not;
NDCG@10 by `shoplens.evaluate` over (shopper, query) pairs, on queries chosen by the caller (the
point of the exercise: queries never clicked during training).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .metrics import evaluate

COLOUR_FAMILIES: dict[str, frozenset[str]] = {
    "dark": frozenset({"Black", "Grey", "Navy Blue", "Charcoal", "Steel", "Grey Melange", "Metallic"}),
    "warm": frozenset(
        {"Brown", "Beige", "Tan", "Khaki", "Coffee Brown", "Copper", "Gold", "Bronze", "Mustard", "Olive", "Maroon"}
        | {"Red", "Orange", "Yellow", "Rust", "Cream", "Burgundy", "Mushroom Brown", "Nude", "Skin"}
    ),
    "cool": frozenset(
        {"White", "Silver", "Blue", "Pink", "Green", "Purple", "Off White", "Turquoise Blue", "Teal", "Lavender"}
        | {"Sea Green", "Magenta", "Lime Green", "Fluorescent Green", "Peach", "Rose", "Mauve"}
    ),
}


@dataclass(frozen=True)
class Shopper:
    user_id: str
    segment: str
    taste: dict[str, frozenset[str]]  # attribute field -> values this shopper prefers

    def likes(self, attributes: dict[str, str]) -> bool:
        return all(attributes.get(f) in vals for f, vals in self.taste.items())


@dataclass(frozen=True)
class SimQuery:
    text: str
    wants: dict[str, str]  # attribute field -> value a relevant product has


@dataclass(frozen=True)
class ClickModel:
    """P(examine rank r) = decay ** r (0-based); P(click | examined) by grade; `noise` clicks anything."""

    decay: float = 0.8
    p_click: tuple[float, float, float] = (0.02, 0.2, 0.75)  # grade 0, 1, 2
    noise: float = 0.02
    p_cart: float = 0.3  # after a click on an in-taste relevant product

    def examined(self, rank: int) -> float:
        return self.decay**rank


@dataclass
class SimStats:
    searches: int = 0
    clicks: int = 0
    carts: int = 0
    events: int = 0
    refused: int = 0
    per_query: dict[str, int] = field(default_factory=dict)


def make_shoppers(
    n: int, families: dict[str, frozenset[str]] | None = None, field_name: str = "baseColour", seed: int = 0
) -> list[Shopper]:
    """`n` shoppers spread evenly over the taste segments (one per colour family by default)."""
    families = families or COLOUR_FAMILIES
    names = sorted(families)
    rng = random.Random(seed)
    order = [names[i % len(names)] for i in range(n)]
    rng.shuffle(order)
    return [Shopper(f"sim-user-{i:03d}", seg, {field_name: families[seg]}) for i, seg in enumerate(order)]


def make_queries(
    products: dict[str, dict[str, str]], fields: Sequence[str] = ("gender", "type"), min_relevant: int = 5
) -> list[SimQuery]:
    """One query per combination of the fields' values that at least `min_relevant` products have
    (text: the values in order, lower case, e.g. "women watch"), most frequent first."""
    counts: dict[tuple[str, ...], int] = {}
    for attrs in products.values():
        key = tuple(attrs.get(f) or "" for f in fields)
        if all(key):
            counts[key] = counts.get(key, 0) + 1
    keys = sorted((k for k, c in counts.items() if c >= min_relevant), key=lambda k: (-counts[k], k))
    return [SimQuery(" ".join(v.lower() for v in k), dict(zip(fields, k))) for k in keys]


class Simulator:
    """`products`: id -> attributes (the store's own, including derived `type`)."""

    def __init__(
        self,
        products: dict[str, dict[str, str]],
        click_model: ClickModel | None = None,
        seed: int = 0,
        clock: float | None = None,
        step_s: float = 3600.0,
    ):
        """`clock` (epoch seconds): simulated time, advanced `step_s` per session and stamped on events
        (a search callable logs its query at `now_iso()`); None stamps nothing (the log uses real time)."""
        self.products = products
        self.model = click_model or ClickModel()
        self.rng = random.Random(seed)
        self.clock, self.step_s = clock, step_s

    def now_iso(self, offset_s: float = 0.0) -> str | None:
        if self.clock is None:
            return None
        return dt.datetime.fromtimestamp(self.clock + offset_s, dt.UTC).isoformat(timespec="milliseconds")

    def grade(self, query: SimQuery, shopper: Shopper, pid: str) -> int:
        attrs = self.products.get(pid)
        if attrs is None or any(attrs.get(f) != v for f, v in query.wants.items()):
            return 0
        return 2 if shopper.likes(attrs) else 1

    def session(
        self,
        search: Callable[[str, str], tuple[str | None, list[str]]],
        record: Callable[[list[dict[str, Any]]], Any],
        shopper: Shopper,
        query: SimQuery,
        stats: SimStats | None = None,
        shown: int = 10,
    ) -> list[dict[str, Any]]:
        """One search by one shopper: search(text, user) -> (query_id, ids); the events go to record()."""
        qid, ids = search(query.text, shopper.user_id)
        session = uuid.uuid4().hex[:12]
        events: list[dict[str, Any]] = []
        m = self.model
        for rank, pid in enumerate(ids[:shown]):
            if self.rng.random() >= m.examined(rank):
                continue
            g = self.grade(query, shopper, pid)
            if self.rng.random() < m.p_click[g] or self.rng.random() < m.noise:
                events.append(self._event("click", qid, pid, rank, shopper, session, self.now_iso(1 + rank)))
                if g == 2 and self.rng.random() < m.p_cart:
                    events.append(self._event("add_to_cart", qid, pid, rank, shopper, session, self.now_iso(30 + rank)))
        if self.clock is not None:
            self.clock += self.step_s
        if events:
            rep = record(events)
            if stats is not None:
                stats.refused += len(getattr(rep, "refused", []) or [])
        if stats is not None:
            stats.searches += 1
            stats.clicks += sum(e["action_name"] == "click" for e in events)
            stats.carts += sum(e["action_name"] == "add_to_cart" for e in events)
            stats.events += len(events)
            stats.per_query[query.text] = stats.per_query.get(query.text, 0) + 1
        return events

    @staticmethod
    def _event(
        action: str, qid: str | None, pid: str, rank: int, shopper: Shopper, session: str, ts: str | None
    ) -> dict[str, Any]:
        ev = {
            "event_id": uuid.uuid4().hex,
            "action_name": action,
            "query_id": qid,
            "user_id": shopper.user_id,
            "client_id": shopper.user_id,
            "session_id": session,
            "event_attributes": {
                "object": {"object_id": pid, "object_id_field": "id"},
                "position": {"ordinal": rank},
                "simulated": True,
            },
        }
        if ts is not None:
            ev["timestamp"] = ts
        return ev

    def run(
        self,
        search: Callable[[str, str], tuple[str | None, list[str]]],
        record: Callable[[list[dict[str, Any]]], Any],
        shoppers: Sequence[Shopper],
        queries: Sequence[SimQuery],
        searches: int,
    ) -> SimStats:
        """`searches` sessions, each a random shopper with a random query."""
        stats = SimStats()
        for _ in range(searches):
            self.session(search, record, self.rng.choice(shoppers), self.rng.choice(queries), stats)
        return stats

    def ndcg(
        self,
        ranked: Callable[[str, str], list[str]],
        pairs: Iterable[tuple[Shopper, SimQuery]],
        k: int = 10,
    ) -> dict[str, Any]:
        """NDCG@k against the hidden taste over (shopper, query) pairs; ranked(text, user) -> ids.
        Judgments cover every catalog product, so a product the engine never showed still counts."""
        run: dict[str, dict[str, float]] = {}
        qrels: dict[str, dict[str, int]] = {}
        for shopper, q in pairs:
            qid = f"{shopper.user_id}|{q.text}"
            ids = ranked(q.text, shopper.user_id)[:k]
            run[qid] = {pid: float(len(ids) - i) for i, pid in enumerate(ids)}
            qrels[qid] = {pid: g for pid in self.products if (g := self.grade(q, shopper, pid)) > 0}
        ev = evaluate(run, qrels, [f"ndcg@{k}"])
        return {"ndcg": ev.metrics[f"ndcg@{k}"], "pairs": len(run), "per_pair": ev.per_query}

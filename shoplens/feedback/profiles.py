"""Shopper profiles from the feedback log: what each user clicked, carted and bought, decayed by age.

A profile is (a) a decayed, weighted mean of the interacted products' embeddings per vector field
and (b) attribute affinities: for each attribute field, the decayed share of the user's weight on
each value ("62% of what u1 clicked is Black"). The ranker reads both as features; `recommend`
can read them as well. Nothing here knows the store: the caller passes lookups from product id to
vectors and attributes, so profiles can be built from any log and any catalog.

Builders are incremental (`add` one event at a time, in time order), which is what lets training
compute each search's profile from strictly earlier events (no leakage) and lets a live engine
catch up with new events without a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

# How much one event says about taste; impressions and hovers say nothing on their own.
DEFAULT_ACTION_WEIGHTS = {"click": 1.0, "add_to_cart": 2.0, "purchase": 3.0}


@dataclass(frozen=True)
class ProfileConfig:
    """`half_life_days`: an event this old counts half as much as one happening now."""

    half_life_days: float = 30.0
    action_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ACTION_WEIGHTS))
    vector_fields: tuple[str, ...] = ("text:e5", "image")


@dataclass
class UserProfile:
    user: str
    vectors: dict[str, np.ndarray]  # field -> unit-norm decayed mean (absent when no interacted product had one)
    affinities: dict[str, dict[str, float]]  # attribute field -> value -> decayed share (sums to 1 per field)
    weight: float  # decayed total weight of the user's interactions at `as_of`
    events: int  # interactions counted (undecayed)
    as_of: float  # epoch seconds the decay refers to

    def affinity(self, attributes: dict[str, str]) -> list[float]:
        """Share of the user's weight on each of a product's attribute values, over fields the profile knows."""
        return [self.affinities[f].get(v, 0.0) for f, v in attributes.items() if f in self.affinities]


def epoch(ts: str) -> float:
    """Seconds since the epoch of a log timestamp (ISO-8601; one without a zone is UTC)."""
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


@dataclass
class _Acc:
    t_ref: float
    weight: float = 0.0
    events: int = 0
    vec: dict[str, np.ndarray] = field(default_factory=dict)
    vec_w: dict[str, float] = field(default_factory=dict)
    attrs: dict[str, dict[str, float]] = field(default_factory=dict)

    def scale(self, f: float) -> None:
        self.weight *= f
        for k in self.vec:
            self.vec[k] *= f
            self.vec_w[k] *= f
        for vals in self.attrs.values():
            for v in vals:
                vals[v] *= f


class ProfileBuilder:
    """Accumulates profiles event by event. `vectors_of(id)` -> {field: vector} and `attributes_of(id)` ->
    {field: value} describe a product (None / {} for an unknown one: it is skipped)."""

    def __init__(
        self,
        vectors_of: Callable[[str], dict[str, np.ndarray] | None],
        attributes_of: Callable[[str], dict[str, str] | None],
        config: ProfileConfig | None = None,
    ):
        self.vectors_of, self.attributes_of = vectors_of, attributes_of
        self.config = config or ProfileConfig()
        self._acc: dict[str, _Acc] = {}
        self._pop: _Acc | None = None  # every user's interactions pooled: what "typical" looks like
        self._half_life_s = self.config.half_life_days * 86400.0

    def __contains__(self, user: str) -> bool:
        return user in self._acc

    @property
    def users(self) -> list[str]:
        return sorted(self._acc)

    def _decay(self, dt_s: float) -> float:
        return 0.5 ** (dt_s / self._half_life_s) if self._half_life_s > 0 else 1.0

    def add(self, user: str | None, object_id: str | None, action: str, when: float) -> bool:
        """Count one event (epoch seconds); False when it says nothing about taste or the product is unknown."""
        w = self.config.action_weights.get(action, 0.0)
        if not user or not object_id or w <= 0:
            return False
        attrs = self.attributes_of(object_id)
        vecs = self.vectors_of(object_id)
        if attrs is None and vecs is None:
            return False
        acc = self._acc.get(user)
        if acc is None:
            acc = self._acc[user] = _Acc(when)
        if self._pop is None:
            self._pop = _Acc(when)
        self._add(acc, w, when, vecs, attrs)
        self._add(self._pop, w, when, None, attrs)
        return True

    def _add(self, acc: _Acc, w: float, when: float, vecs, attrs) -> None:
        if when > acc.t_ref:
            acc.scale(self._decay(when - acc.t_ref))
            acc.t_ref = when
        else:
            w *= self._decay(acc.t_ref - when)
        acc.weight += w
        acc.events += 1
        for f, v in (vecs or {}).items():
            if f in self.config.vector_fields:
                acc.vec[f] = acc.vec.get(f, 0.0) + w * np.asarray(v, np.float32)
                acc.vec_w[f] = acc.vec_w.get(f, 0.0) + w
        for f, v in (attrs or {}).items():
            vals = acc.attrs.setdefault(f, {})
            vals[v] = vals.get(v, 0.0) + w

    def add_all(self, events: Iterable[tuple[str | None, str | None, str, float]]) -> int:
        return sum(self.add(*e) for e in events)

    def population(self, now: float | None = None) -> UserProfile | None:
        """All users pooled (attribute shares only): the baseline a user's taste is measured against."""
        return self._profile("*", self._pop, now)

    def get(self, user: str | None, now: float | None = None) -> UserProfile | None:
        """The user's profile decayed to `now` (default: their last event); None for an unknown user."""
        return self._profile(user or "", self._acc.get(user) if user else None, now)

    def _profile(self, user: str, acc: _Acc | None, now: float | None) -> UserProfile | None:
        if acc is None:
            return None
        now = acc.t_ref if now is None else max(now, acc.t_ref)
        f = self._decay(now - acc.t_ref)
        vectors = {}
        for k, v in acc.vec.items():
            n = float(np.linalg.norm(v))
            if n > 0:
                vectors[k] = (v / n).astype(np.float32)
        affinities = {}
        for fld, vals in acc.attrs.items():
            total = sum(vals.values())
            if total > 0:
                affinities[fld] = {v: x / total for v, x in vals.items()}
        return UserProfile(user, vectors, affinities, acc.weight * f, acc.events, now)


def profiles_from_log(
    log,
    vectors_of: Callable[[str], dict[str, np.ndarray] | None],
    attributes_of: Callable[[str], dict[str, str] | None],
    config: ProfileConfig | None = None,
) -> ProfileBuilder:
    """Every user's profile from a `FeedbackLog` (user = the event's user_id, else its client_id)."""
    b = ProfileBuilder(vectors_of, attributes_of, config)
    for _, ev in log.events():
        b.add(ev.user_id or ev.client_id, ev.object_id, ev.action_name, epoch(ev.timestamp))
    return b

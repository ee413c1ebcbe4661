"""The co-view model, sessions and profile on hand-made interactions (no store, no models)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shoplens.config import RecommendConfig
from shoplens.feedback.log import FeedbackLog
from shoplens.feedback.profiles import ProfileBuilder, ProfileConfig
from shoplens.recommend.coview import CoViewModel
from shoplens.recommend.recommender import recommend_items
from shoplens.recommend.sessions import Interaction, group_sessions, log_stamp, read_interactions

DAY = 86_400.0
CFG = RecommendConfig()


def session(sid: str, items: str, t0: float = 0.0, action: str = "click", user: str | None = None):
    w = CFG.action_weights[action]
    return [
        Interaction(item=i, action=action, ts=t0 + 60 * n, session=sid, user=user, weight=w)
        for n, i in enumerate(items)
    ]


def test_nearer_and_later_items_are_stronger_neighbours():
    m = CoViewModel.fit([session("s1", "abcd"), session("s2", "xb")], CFG)
    got = dict(m.neighbours(session("q", "a"), 10))
    assert got["b"] > got["c"] > got["d"] > 0  # position distance decays
    got_b = dict(m.neighbours(session("q", "b"), 10))
    assert got_b["c"] > got_b["a"]  # what came after b beats what came before it (backward_weight < 1)
    assert "x" in got_b and "b" not in got_b


def test_window_limits_pairs_and_repeats_collapse():
    cfg = dataclasses.replace(CFG, window=1)
    m = CoViewModel.fit([session("s", "aabc")], cfg)
    assert set(dict(m.neighbours(session("q", "a"), 10))) == {"b"}  # c is 2 steps away; "aa" is one step
    assert m.occurrences["a"] == 1


def test_old_sessions_count_less_and_purchases_more():
    old = session("old", "ab", t0=0)
    new = session("new", "ac", t0=CFG.half_life_days * DAY)
    got = dict(CoViewModel.fit([old, new], CFG).neighbours(session("q", "a"), 10))
    assert got["c"] == pytest.approx(2 * got["b"], rel=0.01)  # one half-life apart
    bought = [session("p", "a")[0], session("p", "d", t0=60, action="purchase")[0]]
    got = dict(CoViewModel.fit([session("v", "ab"), bought], CFG).neighbours(session("q", "a"), 10))
    assert got["d"] > got["b"]


def test_recommend_items_never_offers_what_was_bought_and_fills_with_popular():
    sessions = [session(f"s{n}", "abc") for n in range(3)] + [session("p", "zzzz"), session("p2", "z")]
    m = CoViewModel.fit(sessions, CFG)
    history = session("q", "a") + [Interaction("b", "purchase", 200.0, "q", weight=3.0)]
    recs = [r.item for r in recommend_items(m, history, 10, CFG)]
    assert "b" not in recs  # bought
    assert recs.index("c") < recs.index("z")  # co-viewed before merely popular
    assert set(recs) == {"a", "c", "z"}  # a: viewed recently, not bought
    assert "coview" in recommend_items(m, history, 10, CFG)[recs.index("c")].components
    cold = recommend_items(m, [], 2, CFG)
    # z: 5 clicks; a, b, c: 3 each, c the most recent (popularity decays with age)
    assert [r.item for r in cold] == ["z", "c"] and set(cold[0].components) == {"popular"}


def test_group_sessions_by_id_or_by_user_gap():
    evs = [
        Interaction("a", "click", 0, None, "u"),
        Interaction("b", "click", 60, None, "u"),
        Interaction("c", "click", 60 + CFG.session_gap_s + 1, None, "u"),
        Interaction("d", "click", 5, "s1", "u"),
        Interaction("e", "click", 5, None, None),  # nothing ties it to anything: dropped
    ]
    got = sorted("".join(e.item for e in s) for s in group_sessions(evs, CFG.session_gap_s))
    assert got == ["ab", "c", "d"]


def test_read_interactions_from_a_real_log(tmp_path):
    log = FeedbackLog(tmp_path)
    assert log_stamp(log) == (0, 0)
    rep = log.record_events(
        [
            {"action_name": "impression", "object_id": "a", "user_id": "u", "timestamp": "2026-01-01T10:00:00Z"},
            {"action_name": "click", "object_id": "a", "user_id": "u", "timestamp": "2026-01-01T10:00:01Z"},
            {"action_name": "purchase", "object_id": "b", "client_id": "u", "timestamp": "2026-01-01T10:00:02Z"},
            {
                "action_name": "click",
                "object_id": "c",
                "user_id": "v",
                "session_id": "s",
                "timestamp": "2026-01-01T09:00:00Z",
            },
        ]
    )
    assert rep.stored == 4
    everyone = read_interactions(log, CFG)
    assert [e.item for e in everyone] == ["c", "a", "b"]  # time order, impressions left out
    mine = read_interactions(log, CFG, user="u")
    assert [(e.item, e.action, e.weight) for e in mine] == [("a", "click", 1.0), ("b", "purchase", 3.0)]
    assert log_stamp(log)[0] == 4
    log.close()


def test_profile_is_the_decayed_weighted_mean():
    """recommend's profile side uses the ranker's ProfileBuilder with recommend's action weights."""
    vecs = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}

    def profile(history):
        b = ProfileBuilder(
            lambda pid: {"f": vecs[pid]} if pid in vecs else None,
            lambda pid: None,
            ProfileConfig(half_life_days=30, action_weights=dict(CFG.action_weights), vector_fields=("f",)),
        )
        for e in history:
            b.add("u", e.item, e.action, e.ts)
        p = b.get("u")
        return p.vectors.get("f") if p is not None else None

    v = profile([Interaction("a", "click", 0.0), Interaction("b", "purchase", 0.0)])
    assert v[1] == pytest.approx(3 * v[0]) and np.linalg.norm(v) == pytest.approx(1.0)
    v = profile([Interaction("a", "click", 0.0), Interaction("b", "click", 30 * DAY)])
    assert v[1] == pytest.approx(2 * v[0])  # a is one half-life older
    assert profile([Interaction("zz", "click", 0.0)]) is None

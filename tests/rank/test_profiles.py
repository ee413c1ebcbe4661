"""User profiles from behaviour: decayed, action-weighted means and attribute shares (no models needed:
products are described by small hand-made vectors and attributes)."""

from __future__ import annotations

import numpy as np
import pytest

from shoplens.feedback.profiles import ProfileBuilder, ProfileConfig, profiles_from_log

DAY = 86400.0
VEC = {"a": np.array([1.0, 0.0], np.float32), "b": np.array([0.0, 1.0], np.float32)}
ATTRS = {"a": {"baseColour": "Black", "gender": "Men"}, "b": {"baseColour": "White", "gender": "Men"}}


def builder(half_life_days: float = 30.0) -> ProfileBuilder:
    return ProfileBuilder(
        lambda pid: {"text:e5": VEC[pid]} if pid in VEC else None,
        lambda pid: ATTRS.get(pid),
        ProfileConfig(half_life_days=half_life_days),
    )


def test_action_weights_and_shares():
    b = builder()
    assert b.add("u", "a", "click", 0.0) and b.add("u", "b", "purchase", 0.0)
    assert not b.add("u", "a", "impression", 0.0)  # being shown something says nothing about taste
    assert not b.add("u", "zzz", "click", 0.0)  # unknown product
    p = b.get("u")
    assert p.events == 2 and p.weight == pytest.approx(1.0 + 3.0)
    assert p.affinities["baseColour"] == pytest.approx({"Black": 0.25, "White": 0.75})
    assert p.affinities["gender"] == {"Men": 1.0}
    expected = np.array([1.0, 3.0]) / np.linalg.norm([1.0, 3.0])
    assert np.allclose(p.vectors["text:e5"], expected, atol=1e-6)
    assert p.affinity({"baseColour": "White", "season": "Fall"}) == pytest.approx([0.75])


def test_older_events_count_less_whatever_the_order_they_arrive_in():
    for order in ((0.0, 30 * DAY), (30 * DAY, 0.0)):
        b = builder(half_life_days=30.0)
        t_black, t_white = order
        b.add("u", "a", "click", t_black)
        b.add("u", "b", "click", t_white)
        shares = b.get("u").affinities["baseColour"]
        newer, older = ("White", "Black") if t_white > t_black else ("Black", "White")
        assert shares[newer] == pytest.approx(2 / 3) and shares[older] == pytest.approx(1 / 3)
    later = b.get("u", now=60 * DAY)
    assert later.weight == pytest.approx(0.5 * b.get("u").weight)  # decayed to `now`


def test_unknown_users_and_population():
    b = builder()
    assert b.get("nobody") is None and b.get(None) is None and b.population() is None
    b.add("u1", "a", "click", 0.0)
    b.add("u2", "b", "click", 0.0)
    b.add("u2", "b", "click", 0.0)
    assert b.population().affinities["baseColour"] == pytest.approx({"Black": 1 / 3, "White": 2 / 3})
    assert b.users == ["u1", "u2"] and "u1" in b


def test_profiles_from_a_real_feedback_log(tmp_path):
    from shoplens.feedback.log import FeedbackLog

    log = FeedbackLog(tmp_path)
    log.log_event("click", "a", user_id="u1", position=0)
    log.log_event("add_to_cart", "b", client_id="u1", position=1)  # client id stands in for a missing user id
    log.log_event("click", "b", user_id="u2")
    b = profiles_from_log(log, lambda pid: {"text:e5": VEC[pid]}, ATTRS.get)
    assert b.get("u1").affinities["baseColour"] == pytest.approx({"Black": 1 / 3, "White": 2 / 3})
    assert b.get("u2").events == 1

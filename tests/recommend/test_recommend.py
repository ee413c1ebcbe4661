"""`Engine.recommend` on a copy of the small real store, from events logged the way a shop logs
them: searches with `log=True`, then clicks / purchases citing their query ids."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from shoplens.errors import QueryError

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
_clock = itertools.count()


def tick() -> str:
    """Distinct, increasing timestamps: event order is what sessions are made of."""
    return (T0 + dt.timedelta(seconds=next(_clock))).isoformat()


def shop(engine, user: str, session: str, steps: list[tuple[str, str, str]]) -> None:
    """Each step: search `text` (logged), then `action` on product `pid`."""
    events = []
    for text, action, pid in steps:
        res = engine.search(text=text, k=10, user=user, session=session, log=True)
        pos = res.ids.index(pid) if pid in res.ids else None
        ev = {
            "action_name": action,
            "query_id": res.query_id,
            "user_id": user,
            "session_id": session,
            "timestamp": tick(),
            "event_attributes": {"object": {"object_id": pid}},
        }
        if pos is not None:
            ev["event_attributes"]["position"] = {"ordinal": pos}
        events.append(ev)
    rep = engine.record_events(events)
    assert rep.stored == len(events) and not rep.refused


def by_type(rows: dict, sub: str) -> list[str]:
    return [pid for pid, r in rows.items() if r["subCategory"] == sub]


@pytest.fixture(scope="module")
def logged(rec_engine, small_rows):
    """Six shoppers view watch W then bag B (two of them then shoes S); W and B are the best sellers."""
    watch, bag, shoes = (
        by_type(small_rows, "Watches")[0],
        by_type(small_rows, "Bags")[0],
        by_type(small_rows, "Shoes")[0],
    )
    for n in range(6):
        steps = [("watch", "click", watch), ("bag", "click", bag)]
        if n < 2:
            steps.append(("shoes", "click", shoes))
        shop(rec_engine, f"shopper-{n}", f"sess-{n}", steps)
    return {"W": watch, "B": bag, "S": shoes}


def test_coview_neighbour_of_a_new_shoppers_item(rec_engine, logged):
    shop(rec_engine, "newbie", "sess-new", [("watch", "click", logged["W"])])
    res = rec_engine.recommend("newbie", k=5)
    assert res.query["source"] == "personal" and res.understanding["history_events"] == 1
    assert res.ids[0] == logged["B"], res.ids  # what every shopper opened after W
    assert "coview" in res.hits[0].components
    assert logged["S"] in res.ids


def test_never_recommends_what_the_shopper_bought(rec_engine, logged):
    shop(rec_engine, "buyer", "sess-buy", [("watch", "click", logged["W"]), ("bag", "purchase", logged["B"])])
    res = rec_engine.recommend("buyer", k=20)
    assert logged["B"] not in res.ids and len(res) == 20


def test_profile_pulls_the_shoppers_taste(rec_engine, logged, small_rows):
    watches = [w for w in by_type(small_rows, "Watches") if w != logged["W"]][:4]
    shop(rec_engine, "watch-fan", "sess-fan", [("watch", "click", w) for w in watches])
    res = rec_engine.recommend("watch-fan", k=10)
    assert res.understanding["profile_field"] is not None
    new = [h for h in res if h.id not in watches]
    share = sum(small_rows[h.id]["subCategory"] == "Watches" for h in new) / len(new)
    chance = len(by_type(small_rows, "Watches")) / len(small_rows)  # ~0.14
    assert share >= max(0.7, 4 * chance), (share, [small_rows[h.id]["productDisplayName"] for h in new])
    assert sum("profile" in h.components for h in res) >= 5


def test_unknown_shopper_gets_popular_items_marked_as_such(rec_engine, logged):
    res = rec_engine.recommend("never-seen", k=3)
    assert res.query["source"] == "popular" and "popular" in res.understanding["note"]
    assert set(res.ids[:2]) == {logged["W"], logged["B"]}
    assert all(set(h.components) == {"popular"} for h in res)
    assert res.to_json()["query"]["source"] == "popular"


def test_new_events_are_used_at_once_and_filters_apply(rec_engine, logged, small_rows):
    other = by_type(small_rows, "Bags")[1]
    shop(rec_engine, "newbie-2", "sess-new-2", [("watch", "click", logged["W"])])
    before = rec_engine.recommend("newbie-2", k=3).ids
    assert other not in before
    for n in range(8):  # a new trend: W then another bag, many times
        shop(rec_engine, f"trend-{n}", f"trend-{n}", [("watch", "click", logged["W"]), ("bag", "click", other)])
    assert other in rec_engine.recommend("newbie-2", k=3).ids
    gender = small_rows[logged["B"]]["gender"]
    res = rec_engine.recommend("newbie-2", k=8, filters={"gender": gender})
    assert len(res) and all(small_rows[h]["gender"] == gender for h in res.ids)


def test_bad_requests(rec_engine):
    with pytest.raises(QueryError, match="user must be"):
        rec_engine.recommend("")
    with pytest.raises(QueryError, match="k must be"):
        rec_engine.recommend("x", k=5000)
    with pytest.raises(QueryError, match="unknown filter field"):
        rec_engine.recommend("x", filters={"nope": "1"})

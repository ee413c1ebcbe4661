"""A logged search gets a query_id; events citing it land in the store's feedback log, shaped like UBI."""

import shutil

from shoplens.engine import Engine


def test_logged_search_and_events_round_trip(small_store, engine_config, tmp_path):
    store = tmp_path / "s"
    shutil.copytree(small_store, store)  # a private log: the session store's stays empty for other tests
    with Engine.open(store, engine_config) as engine:
        res = engine.search(text="men black shoes", k=5, user="shopper-1", session="s-1", log=True)
        assert res.query_id and res.to_json()["query_id"] == res.query_id
        unlogged = engine.search(text="men black shoes", k=5)
        assert unlogged.query_id is None and unlogged.ids == res.ids
        events = [
            {
                "action_name": "impression",
                "query_id": res.query_id,
                "user_id": "shopper-1",
                "event_attributes": {"object": {"object_id": h}, "position": {"ordinal": i}},
            }
            for i, h in enumerate(res.ids)
        ]
        events.append({"action_name": "click", "query_id": res.query_id, "object_id": res.ids[1], "position": 1})
        events.append({"action_name": "click", "query_id": res.query_id})  # refused: no object
        rep = engine.record_events(events)
        assert rep.stored == 6 and [i for i, _ in rep.refused] == [6]
        docs = [d for d in engine.feedback.to_ubi() if d.get("query_id") == res.query_id]
        query = next(d for d in docs if "user_query" in d)
        assert query["query_response_hit_ids"] == res.ids and query["user_id"] == "shopper-1"
        assert query["session_id"] == "s-1"
        clicks = [d for d in docs if d.get("action_name") == "click"]
        assert [c["event_attributes"]["object"]["object_id"] for c in clicks] == [res.ids[1]]

"""With `[ranker] explore`, a logged search shows a bounded permutation of the ranked page and the log
records the order the shopper saw (not the order the engine ranked)."""

import shutil

from shoplens.engine import Engine


def test_logged_explored_search_records_the_shown_order(small_store, engine_config, tmp_path):
    store = tmp_path / "s"
    shutil.copytree(small_store, store)  # a private log
    with Engine.open(store, engine_config, overrides={"ranker.explore": 1.0}) as engine:
        ranked = engine.search(text="men shoes", k=10).ids  # unlogged searches are never explored
        assert engine.search(text="men shoes", k=10).ids == ranked
        shown = [engine.search(text="men shoes", k=10, log=True) for _ in range(12)]
        logged = {d["query_id"]: d for d in engine.feedback.to_ubi() if "user_query" in d}
    assert len(ranked) >= 5
    for res in shown:
        doc = logged[res.query_id]
        assert doc["query_response_hit_ids"] == res.ids  # the log holds what was shown
        assert sorted(res.ids) == sorted(ranked) and res.ids[0] == ranked[0]
        moved = [p for p, (a, b) in enumerate(zip(res.ids, ranked)) if a != b]
        # explore=1: every page is explored (one whose coins all said "keep" still logs its pairs)
        explored = doc["query_attributes"]["explored"]
        assert explored["pairs"] and 0 not in explored["pairs"]
        assert [p for k in explored["swapped"] for p in (k, k + 1)] == moved
        assert all(ranked.index(h) - p in (-1, 0, 1) for p, h in enumerate(res.ids))
    assert len({tuple(r.ids) for r in shown}) > 1  # random swaps, not one fixed order (chance of failing < 1e-9)

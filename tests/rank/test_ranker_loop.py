"""The learning loop on a real store (240 shared fashion products, real models), a real log and a real
ranker: SIMULATED shoppers search, click and cart through the engine; the ranker trained on their
clicks must rank better for them on held-out queries (never searched while training), judged by
their hidden taste."""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
import sys

import pytest

from shoplens.config import RankerSettings
from shoplens.engine import Engine
from shoplens.evaluate.simulate import Simulator, make_queries, make_shoppers
from shoplens.rank.features import FeatureBuilder
from shoplens.rank.train import TooLittleFeedback
from shoplens.search.query import Query

from ..conftest import FASHION, fashion_rows


def _copy(small_store, tmp_path_factory, name):
    dst = tmp_path_factory.mktemp(name) / "store"
    shutil.copytree(small_store, dst)
    return dst


@pytest.fixture(scope="module")
def world(small_store, engine_config, tmp_path_factory):
    """A copy of the small store, simulated shoppers' sessions on the training queries, a trained ranker."""
    store = _copy(small_store, tmp_path_factory, "ranked")
    engine = Engine.open(store, engine_config)
    fb = FeatureBuilder(engine.reader)
    products = {pid: fb.attrs[d] for d, pid in enumerate(fb.ids)}
    queries = make_queries(products, min_relevant=5)
    random.Random(1).shuffle(queries)
    held, train_q = queries[::3], [q for q in queries if q not in queries[::3]]
    shoppers = make_shoppers(12, seed=1)
    sim = Simulator(products, seed=1)

    def logged(text, user):
        res = engine.search(text, k=10, user=user, log=True)
        return res.query_id, res.ids

    def ndcg(rerank):
        pairs = [(s, q) for s in shoppers for q in held]
        return sim.ndcg(lambda t, u: engine.search(t, k=10, user=u, rerank=rerank).ids, pairs)["ndcg"]

    before = ndcg(False)
    stats = sim.run(logged, engine.record_events, shoppers, train_q, 300)
    metrics = engine.train_ranker(RankerSettings())
    return {
        "engine": engine,
        "store": store,
        "held": held,
        "train": train_q,
        "stats": stats,
        "metrics": metrics,
        "before": before,
        "after": ndcg(True),
        "sim": sim,
        "shoppers": shoppers,
    }


def test_simulation_used_the_real_log(world):
    st, engine = world["stats"], world["engine"]
    assert st.searches == 300 and st.clicks > 100 and st.refused == 0
    counts = engine.feedback.counts()
    assert counts["queries"] == 300 and counts["events"] == st.events
    assert not {q.text for q in world["held"]} & {q.text for q in world["train"]}
    assert set(st.per_query) <= {q.text for q in world["train"]}  # held-out queries were never searched


def test_ranker_lifts_held_out_queries_by_hidden_taste(world):
    # Chance: a ranker that learned nothing re-orders at random, which leaves NDCG where it was or lower
    # (ratio <= 1) for the same shoppers and queries; benchmarks/bench_ranker.py measures ~1.05x on 1,200
    # products, so 1.02 on this smaller store means the taste was learned and carried to unseen queries.
    assert world["after"] >= 1.02 * world["before"], (world["before"], world["after"])


def test_validation_metrics_beat_chance(world):
    m = world["metrics"]
    v = m["validation"]
    # ROC-AUC chance is 0.5; PR-AUC chance is the click rate of the shown products (~0.15 here).
    assert v["roc_auc"] >= 0.65 and v["pr_auc"] > 0.2
    # The click prediction (P(examined at the shown position) x the ranker's relevance) beats what the
    # position alone and the order the shoppers saw predict: the ranker adds to position, not only uses it.
    # (margins: the engine's own order already predicts these clicks well since the query-mode heads,
    # 0.775 logged order / 0.771 position alone vs 0.792 for the ranker on this log)
    assert v["roc_auc"] > m["validation_position_only"]["roc_auc"] + 0.01, m
    assert v["roc_auc"] > m["validation_logged_order"]["roc_auc"] + 0.01, m
    assert m["validation_relevance"]["roc_auc"] > 0.6  # the served score on its own
    assert 0 < v["ndcg_cut_10"] <= 1
    assert world["metrics"]["feedback"]["clicks"] > 100


def test_rerank_is_default_and_can_be_turned_off(world):
    engine = world["engine"]
    q = world["held"][0].text
    plain = engine.search(q, k=10, rerank=False)
    assert all(h.ranker is None for h in plain.hits)
    assert plain.ids == engine.searcher.search(Query(text=q, k=10)).ids
    ranked = engine.search(q, k=10, user=world["shoppers"][0].user_id, explain=True)
    assert len(ranked) == 10 and all(h.ranker is not None for h in ranked.hits)
    assert [h.score for h in ranked.hits] == sorted((h.score for h in ranked.hits), reverse=True)
    assert all(len(h.ranker["strongest"]) == 3 for h in ranked.hits)
    assert "ranker" in ranked.to_json(explain=True)["results"][0]["explain"]
    assert ranked.timings_ms["rerank"] > 0 and ranked.query["k"] == 10


def test_photo_only_search_is_reranked_by_taste_and_no_rerank_restores_the_engine(world):
    """A photo with no text: the ranker (trained on text searches) re-orders the engine's own photo
    candidates with what means the same without text (behaviour, the shopper's profile, the engine's
    order); `rerank=False` is the engine's order exactly."""
    engine = world["engine"]
    fb = FeatureBuilder(engine.reader)
    shoppers = {s.segment: s for s in world["shoppers"]}.values()  # one per colour family
    liked = {"engine": 0, "ranker": 0}
    kept, changed, n = 0, 0, 0
    for row in fashion_rows(240)[5::40]:
        photo = FASHION / row["image"]
        plain = engine.search(image=photo, k=10, rerank=False)
        assert all(h.ranker is None for h in plain.hits)
        assert plain.ids == engine.searcher.search(Query(image=str(photo), k=10)).ids
        pool = set(engine.search(image=photo, k=100, rerank=False).ids)
        for s in shoppers:
            ranked = engine.search(image=photo, k=10, user=s.user_id)
            assert all(h.ranker is not None for h in ranked.hits) and ranked.timings_ms["rerank"] > 0
            assert set(ranked.ids) <= pool and len(ranked) == 10
            liked["engine"] += sum(s.likes(fb.attributes_of(i) or {}) for i in plain.ids)
            liked["ranker"] += sum(s.likes(fb.attributes_of(i) or {}) for i in ranked.ids)
            changed += ranked.ids != plain.ids
            kept += row["id"] in ranked.ids
            n += 1
    assert changed >= n // 2
    # Chance: a re-ranker blind to taste leaves the in-taste count where the engine had it (ratio ~1).
    # (The ranker is trained on text searches: its taste reaches photo pages through the simulated log,
    # which the engine shapes. With the attribute MLP re-scoring every text->photo candidate, titled ones
    # included, this fell to 70 vs 60 and 13 of 18 kept; `rescore_mlp_without_attributes_only` gives 85 / 16.)
    assert liked["ranker"] >= 1.2 * liked["engine"], liked
    # The photographed product itself (the engine's first hit) stays on the page for most shoppers
    # (chance for a random re-order of the 100-product pool: 0.1).
    assert kept >= 0.8 * n, (kept, n)


def test_unknown_user_falls_back_to_the_unpersonalised_ranking(world):
    engine = world["engine"]
    q = world["held"][1].text
    anon = engine.search(q, k=10)
    stranger = engine.search(q, k=10, user="never-seen-before")
    assert anon.ids == stranger.ids


def test_ranker_refused_when_store_vectors_changed(world, engine_config, tmp_path_factory, caplog):
    store = _copy(world["store"], tmp_path_factory, "changed")
    vdir = store / "ranker" / (store / "ranker" / "CURRENT").read_text().strip()
    meta = json.loads((vdir / "meta.json").read_text())
    meta["fingerprint"] = "0" * 16  # as if trained on vectors from other models
    (vdir / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING):
        engine = Engine.open(store, engine_config)
    assert engine.ranker is None and "train-ranker" in engine.ranker_problem
    assert any("re-ranking" in r.getMessage() for r in caplog.records)
    q = world["held"][0].text
    assert engine.search(q, k=10).ids == world["engine"].search(q, k=10, rerank=False).ids


def test_online_update_publishes_a_new_version(world):
    engine, sim = world["engine"], world["sim"]
    old = engine.ranker.version

    def logged(text, user):
        res = engine.search(text, k=10, user=user, log=True)
        return res.query_id, res.ids

    sim.run(logged, engine.record_events, world["shoppers"], world["train"], 40)
    m = engine.train_ranker(incremental=True)
    assert m["update_searches"] > 0 and engine.ranker.version != old
    assert engine.ranker.meta["metrics"]["incremental_of"] == old


def test_too_little_feedback_changes_nothing(small_store, engine_config, tmp_path_factory):
    store = _copy(small_store, tmp_path_factory, "sparse")
    engine = Engine.open(store, engine_config)
    before = engine.search("men shoes", k=10).ids
    res = engine.search("men shoes", k=10, log=True)
    engine.feedback.log_event("click", res.ids[0], query_id=res.query_id, position=0)
    with pytest.raises(TooLittleFeedback, match="1 clicks over 1 searches"):
        engine.train_ranker()
    assert not (store / "ranker").exists() and engine.ranker is None
    assert engine.search("men shoes", k=10).ids == before


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "shoplens", *args], capture_output=True, text=True, timeout=600)


def test_cli_loop_search_log_event_train(world, small_store, tmp_path_factory, tmp_path):
    sparse = _copy(small_store, tmp_path_factory, "cli")
    r = _cli("search", "--store", str(sparse), "men shoes", "--log", "--user", "u1", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    ev = tmp_path / "click.json"
    ev.write_text(json.dumps({"action_name": "click", "object_id": out["results"][0]["id"], "position": 0}))
    r = _cli("feedback", "log", str(ev), "--store", str(sparse), "--query-id", out["query_id"])
    assert r.returncode == 0 and "1 events stored" in r.stdout
    r = _cli("train-ranker", "--store", str(sparse))
    assert r.returncode == 2 and "1 clicks over 1 searches" in r.stderr and not (sparse / "ranker").exists()
    assert "at least 50 clicks over 20 searches" in r.stderr  # the defaults; the store file and flags change them
    (sparse / "shoplens.toml").write_text("[ranker]\nmin_clicks = 2\nmin_searches = 3\n", encoding="utf-8")
    r = _cli("train-ranker", "--store", str(sparse), "--min-clicks", "4")
    assert r.returncode == 2 and "at least 4 clicks over 3 searches" in r.stderr, r.stderr
    # the trained store: search re-ranks and explains by default, --no-rerank does not
    trained = str(world["store"])
    r = _cli("search", "--store", trained, world["held"][0].text, "--user", "sim-user-000", "--explain")
    assert r.returncode == 0 and "ranker p=" in r.stdout and "strongest:" in r.stdout, r.stderr
    r = _cli("search", "--store", trained, world["held"][0].text, "--no-rerank", "--explain")
    assert r.returncode == 0 and "ranker p=" not in r.stdout
    photo = str(FASHION / fashion_rows(1, 7)[0]["image"])  # a photo alone is re-ranked too
    r = _cli("search", "--store", trained, "--image", photo, "--user", "sim-user-000", "--explain")
    assert r.returncode == 0 and "ranker p=" in r.stdout, r.stderr

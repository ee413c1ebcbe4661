"""Parity of shoplens.evaluate.metrics with pytrec_eval (trec_eval 9.x) and scikit-learn."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import pytrec_eval  # dev dependency: the parity reference must be there, never skipped
import sklearn.metrics as skm

from shoplens.evaluate.metrics import RECALL_POINTS, average_precision, canonical, evaluate, parse_metric, roc_auc
from shoplens.evaluate.trec import EvalFileError, read_qrels, read_run, write_qrels, write_run

KS = (1, 3, 5, 10, 20)


def random_data(seed: int, n_queries: int = 40, n_docs: int = 60):
    """Graded qrels (0..3, some -1), runs with heavy score ties, unjudged docs, no-relevant queries."""
    rng = random.Random(seed)
    docs = [f"d{i:03d}" for i in range(n_docs)] + [f"D{i}" for i in range(10)] + ["a", "zz", "m-1"]
    qrels, run = {}, {}
    for qi in range(n_queries):
        q = f"q{qi}"
        judged = rng.sample(docs, rng.randint(1, 30))
        kind = qi % 5
        if kind == 0:  # judged but nothing relevant
            qrels[q] = {d: rng.choice([0, 0, -1]) for d in judged}
        else:
            qrels[q] = {d: rng.choice([0, 0, 1, 1, 2, 3, -1]) for d in judged}
        if qi % 7 == 3:
            continue  # query only in qrels
        retrieved = rng.sample(docs, rng.randint(1, 50))  # includes unjudged docs
        levels = rng.choice([3, 5, 1000])  # few levels => many ties
        run[q] = {d: float(rng.randint(0, levels)) / 4 for d in retrieved}
    for qi in range(3):
        run[f"extra{qi}"] = {"d001": 1.0}  # query only in run
    return run, qrels


def trec_reference(run, qrels):
    measures = {
        "map",
        "recip_rank",
        "ndcg",
        "iprec_at_recall",
        "ndcg_cut." + ",".join(map(str, KS)),
        "P." + ",".join(map(str, KS)),
        "recall." + ",".join(map(str, KS)),
        "success." + ",".join(map(str, (1, 5, 10))),
        "map_cut." + ",".join(map(str, KS)),
        "num_rel",
        "num_ret",
        "num_rel_ret",
    }
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)


MAPPING = {
    "map": "map",
    "mrr": "recip_rank",
    "ndcg": "ndcg",
    "num_rel": "num_rel",
    "num_ret": "num_ret",
    "num_rel_ret": "num_rel_ret",
    **{f"ndcg@{k}": f"ndcg_cut_{k}" for k in KS},
    **{f"p@{k}": f"P_{k}" for k in KS},
    **{f"recall@{k}": f"recall_{k}" for k in KS},
    **{f"map@{k}": f"map_cut_{k}" for k in KS},
    **{f"hits@{k}": f"success_{k}" for k in (1, 5, 10)},
}


@pytest.mark.parametrize("seed", range(8))
def test_per_query_and_mean_parity_with_pytrec_eval(seed):
    run, qrels = random_data(seed)
    ref = trec_reference(run, qrels)
    ev = evaluate(run, qrels, list(MAPPING))
    assert set(ev.per_query) == set(ref) == set(run) & set(qrels)
    for q, vals in ref.items():
        for ours, theirs in MAPPING.items():
            assert ev.per_query[q][ours] == pytest.approx(vals[theirs], abs=1e-12), (q, ours)
        ip = ev.rankings[q].iprec_at_recall()
        for j, r in enumerate(RECALL_POINTS):
            assert ip[j] == pytest.approx(vals[f"iprec_at_recall_{r:.2f}"], abs=1e-12), (q, r)
    for ours, theirs in MAPPING.items():
        if ours.startswith("num_"):
            continue
        mean = np.mean([v[theirs] for v in ref.values()])
        assert ev.metrics[ours] == pytest.approx(mean, abs=1e-12), ours


def test_ties_broken_by_docid_descending_and_rank_column_ignored(tmp_path):
    qrels = {"1": {"a": 1, "b": 0, "c": 2}}
    # All tied; given ranks claim a first. trec_eval order is c, b, a.
    (tmp_path / "run").write_text("1 Q0 a 1 1.0 x\n1 Q0 b 2 1.0 x\n1 Q0 c 3 1.0 x\n")
    run = read_run(tmp_path / "run")
    ev = evaluate(run, qrels, ["p@1", "mrr", "ndcg@1"])
    ref = trec_reference(run, qrels)["1"]
    assert ev.per_query["1"]["p@1"] == ref["P_1"] == 1.0
    assert ev.per_query["1"]["ndcg@1"] == ref["ndcg_cut_1"] == 1.0


def test_query_without_relevant_docs_scores_zero_and_counts_in_mean():
    qrels = {"1": {"a": 1}, "2": {"x": 0}}
    run = {"1": {"a": 1.0}, "2": {"x": 1.0, "y": 0.5}}
    ev = evaluate(run, qrels, ["map", "ndcg@10", "mrr", "recall@10", "hits@10"])
    for m in ("map", "ndcg@10", "mrr", "recall@10", "hits@10"):
        assert ev.per_query["2"][m] == 0.0
        assert ev.metrics[m] == pytest.approx(0.5)


@pytest.mark.parametrize("seed", range(6))
def test_pooled_roc_auc_and_average_precision_match_sklearn(seed):
    run, qrels = random_data(100 + seed)
    ev = evaluate(run, qrels, ["roc_auc", "avg_precision"])
    y, s = [], []
    for q in sorted(set(run) & set(qrels)):
        for d, score in run[q].items():
            if d in qrels[q]:
                y.append(int(qrels[q][d] >= 1))
                s.append(score)
    assert 0 < sum(y) < len(y)
    assert ev.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert ev.metrics["avg_precision"] == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


def test_roc_and_ap_helpers_on_heavy_ties_and_degenerate_input():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 40))
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            y[0] = 1 - y[0]
        s = rng.integers(0, 4, n).astype(float)
        assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert math.isnan(roc_auc([1, 1], [0.1, 0.2]))
    assert math.isnan(evaluate({"1": {"a": 1.0}}, {"1": {"a": 1}}, ["roc_auc"]).metrics["roc_auc"])
    assert evaluate({"1": {"a": 1.0}}, {"1": {"a": 1}}, ["roc_auc"]).to_json()["metrics"]["roc_auc"] is None


def test_rel_level_matches_trec_eval_l_option():
    run, qrels = random_data(7)
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"map", "P.5"}, relevance_level=2).evaluate(run)
    ev = evaluate(run, qrels, ["map", "p@5"], rel_level=2)
    for q in ref:
        assert ev.per_query[q]["map"] == pytest.approx(ref[q]["map"], abs=1e-12)
        assert ev.per_query[q]["p@5"] == pytest.approx(ref[q]["P_5"], abs=1e-12)


def test_files_round_trip_exactly(tmp_path):
    run, qrels = random_data(3)
    write_run(tmp_path / "r", run)
    write_qrels(tmp_path / "q", qrels)
    assert read_run(tmp_path / "r") == run
    assert read_qrels(tmp_path / "q") == qrels
    first = (tmp_path / "r").read_bytes()
    write_run(tmp_path / "r", run)
    assert (tmp_path / "r").read_bytes() == first


@pytest.mark.parametrize(
    "text,line,field",
    [
        ("1 Q0 a 1 0.5 x\n1 Q0 b 2 high x\n", 2, "score"),
        ("1 Q0 a 1 0.5 x\n\n1 Q0 b two 0.4 x\n", 3, "rank"),
        ("1 Q0 a 1 0.5\n", 1, None),
        ("1 Q0 a 1 0.5 x\n1 Q0 a 2 0.4 x\n", 2, "docid"),
        ("1 Q0 a 1 nan x\n", 1, "score"),
    ],
)
def test_malformed_run_names_line_and_field(tmp_path, text, line, field):
    (tmp_path / "run").write_text(text)
    with pytest.raises(EvalFileError) as e:
        read_run(tmp_path / "run")
    assert e.value.line == line and e.value.field == field
    assert f"line {line}" in str(e.value)


@pytest.mark.parametrize(
    "text,line,field",
    [
        ("1 0 a 1\n1 0 b 1.5\n", 2, "grade"),
        ("1 0 a x\n", 1, "grade"),
        ("1 0 a\n", 1, None),
    ],
)
def test_malformed_qrels_names_line_and_field(tmp_path, text, line, field):
    (tmp_path / "qrels").write_text(text)
    with pytest.raises(EvalFileError) as e:
        read_qrels(tmp_path / "qrels")
    assert (e.value.line, e.value.field) == (line, field)


def test_metric_names():
    assert parse_metric("ndcg@10") == ("ndcg", 10)
    assert parse_metric("P_5") == ("p", 5)
    assert parse_metric("recip_rank") == ("mrr", None)
    assert canonical("ndcg_cut_10") == "ndcg@10" and canonical("success_5") == "hits@5"
    with pytest.raises(ValueError, match="unknown metric"):
        parse_metric("p")
    with pytest.raises(ValueError):
        parse_metric("bleu")


def test_precision_without_a_cutoff_is_a_clear_error():
    """p has no default depth: QueryRanking.value('p', None) used to fail inside a division by None."""
    from shoplens.evaluate.metrics import QueryRanking

    r = QueryRanking.build({"a": 2.0, "b": 1.0}, {"a": 1})
    assert r.value("p", 2) == 0.5
    with pytest.raises(ValueError, match="p@K"):
        r.value("p", None)

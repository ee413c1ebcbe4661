"""UBI parsing, click-model EM and position debiasing."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from shoplens.evaluate.clicks import Impression, estimate, fit_pbm, impressions_from_records, read_ubi, to_judgments
from shoplens.evaluate.trec import EvalFileError

from ..shared_data import SHARED

UBI = SHARED / "ubi_sample" / "ubi_queries_events.ndjson"
needs_data = pytest.mark.usefixtures("shared_data")


@needs_data
def test_real_ubi_sample_parses_with_bulk_lines():
    log = read_ubi(UBI)
    assert log.stats["query documents"] == 473 and log.stats["events"] == 3448
    assert log.stats["searches"] > 200 and 100 < log.stats["clicks"] < log.stats["impressions"]
    imp = {(i.search_id, i.doc): i for i in log.impressions}
    # A click in the sample: "ps4", object B08GPZW3FB at ordinal 2.
    hit = imp["6610ec99-2271-4fe6-a4ca-d03546b0112d", "B08GPZW3FB"]
    assert hit.clicked and hit.position == 2 and hit.query == "ps4"


@needs_data
def test_real_ubi_sample_without_bulk_lines_gives_same_impressions(tmp_path):
    lines = [l for l in UBI.read_text().splitlines() if not l.startswith('{"index"')]
    (tmp_path / "plain.ndjson").write_text("\n".join(lines) + "\n")
    assert read_ubi(tmp_path / "plain.ndjson").impressions == read_ubi(UBI).impressions


@needs_data
def test_em_converges_on_real_sample_and_never_decreases_objective():
    log = read_ubi(UBI)
    fit = fit_pbm(log.impressions)
    assert fit.converged and fit.iterations < 2000
    assert np.all(np.diff(fit.objective) >= -1e-9)
    assert all(0 < v < 1 for v in fit.theta.values()) and all(0 < v < 1 for v in fit.gamma.values())
    j = to_judgments(estimate(log.impressions, fit))
    grades = [g for d in j.qrels.values() for g in d.values()]
    assert set(grades) >= {0, 1} and grades.count(0) > len(grades) / 2
    assert fit_pbm(log.impressions).gamma == fit.gamma  # deterministic


def simulate(seed: int = 0, sessions: int = 6000):
    """True examination 0.9/0.5/0.2 by position; doc A (attractiveness .3) usually on top, B (.6) usually third."""
    rng = random.Random(seed)
    theta = [0.9, 0.5, 0.2]
    attract = {"A": 0.3, "B": 0.6, "C": 0.4}
    out = []
    for s in range(sessions):
        order = ["A", "C", "B"] if rng.random() < 0.8 else ["B", "C", "A"]
        if rng.random() < 0.3:
            order = [order[1], order[0], order[2]]
        for pos, d in enumerate(order):
            out.append(Impression(f"s{s}", "red dress", d, pos, rng.random() < theta[pos] * attract[d]))
    return out, theta, attract


def test_position_debiasing_recovers_true_order_where_ctr_fails():
    imps, theta, attract = simulate()
    est = {e.doc: e for e in estimate(imps)}
    assert est["A"].ctr > est["B"].ctr  # raw CTR is fooled by position
    assert est["B"].pbm > est["C"].pbm > est["A"].pbm  # the click model is not
    assert est["B"].pbm / est["A"].pbm == pytest.approx(2.0, rel=0.15)
    fit = fit_pbm(imps)
    assert fit.theta[1] / fit.theta[0] == pytest.approx(0.5 / 0.9, rel=0.15)
    assert fit.theta[2] / fit.theta[0] == pytest.approx(0.2 / 0.9, rel=0.15)
    j = to_judgments(list(est.values()), thresholds=[0.3])
    assert j.qrels["q0001"]["B"] == 1


def test_records_api_and_implied_impressions():
    log = impressions_from_records(
        [
            {"search_id": "1", "query": "shoes", "doc": "a", "position": 0, "action": "impression"},
            {"search_id": "1", "query": "shoes", "doc": "b", "position": 3, "action": "click"},
            {"search_id": "1", "query": None, "doc": "a", "position": 0, "action": "impression"},
        ]
    )
    assert [(i.doc, i.position, i.clicked) for i in log.impressions] == [("a", 0, False), ("b", 3, True)]


def test_malformed_ubi_names_line_and_field(tmp_path):
    p = tmp_path / "e.ndjson"
    p.write_text('{"index": {}}\n{"query_id": "1", "user_query": "x"}\n{broken\n')
    with pytest.raises(EvalFileError, match="line 3"):
        read_ubi(p)
    p.write_text(
        json.dumps(
            {
                "action_name": "click",
                "query_id": "1",
                "event_attributes": {"object": {"object_id": "a"}, "position": {"ordinal": "top"}},
            }
        )
        + "\n"
    )
    with pytest.raises(EvalFileError) as e:
        read_ubi(p)
    assert e.value.line == 1 and e.value.field == "event_attributes.position.ordinal"

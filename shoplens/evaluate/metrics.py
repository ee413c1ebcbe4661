"""Ranking metrics with trec_eval's exact semantics, in plain numpy.

Why not call trec_eval: it is a C dependency shops rarely have, and reports
need per-query values and curves. Parity with pytrec_eval (trec_eval 9.x) is
checked in tests/unit/test_eval_metrics.py. The semantics that matter:

* A run is re-sorted by score descending, ties by docid descending (strcmp);
  the rank column of the run file is ignored.
* Unjudged documents count as non-relevant (gain 0).
* A document is relevant when grade >= ``rel_level`` (default 1).
* nDCG gain is the grade itself (negative grades count as 0), discount
  log2(rank + 1); the ideal ranking is built from every judged document.
* Averages are over queries present in both run and qrels. A query whose
  qrels hold no relevant document still counts, and scores 0 on every measure
  (as trec_eval does without -c); queries only in the run are ignored.
* ``roc_auc`` / ``avg_precision`` pool every judged (query, doc) pair present
  in the run, grade >= rel_level positive, run score as prediction, exactly as
  scikit-learn's roc_auc_score / average_precision_score compute them; they
  are NaN (JSON null) when the pooled pairs hold a single class.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .trec import Qrels, Run, ranked

DEFAULT_METRICS = (
    "ndcg@10",
    "ndcg@5",
    "map",
    "mrr",
    "p@10",
    "recall@10",
    "recall@100",
    "hits@1",
    "hits@10",
    "roc_auc",
    "avg_precision",
)
POOLED = ("roc_auc", "avg_precision")
COUNTS = ("num_q", "num_ret", "num_rel", "num_rel_ret")
RECALL_POINTS = tuple(i / 10 for i in range(11))
_NAME = re.compile(r"^(ndcg|map|mrr|p|recall|hits)(?:@(\d+))?$")
_NEEDS_K = {"p", "recall", "hits"}


def canonical(name: str) -> str:
    """'P_5' -> 'p@5', 'ndcg_cut_10' -> 'ndcg@10', 'recip_rank' -> 'mrr'."""
    kind, k = parse_metric(name)
    return kind if k is None else f"{kind}@{k}"


def parse_metric(name: str) -> tuple[str, int | None]:
    """'ndcg@10' -> ('ndcg', 10); trec_eval names (P_5, ndcg_cut_10) are accepted too."""
    n = name.strip().lower()
    if n in POOLED or n in COUNTS:
        return n, None
    n = {"recip_rank": "mrr", "success": "hits"}.get(n, n)
    m = _NAME.match(
        re.sub(r"^(p|recall|ndcg_cut|ndcg|map_cut|success)_(\d+)$", r"\1@\2", n)
        .replace("ndcg_cut@", "ndcg@")
        .replace("map_cut@", "map@")
        .replace("success@", "hits@")
    )
    if not m or (m.group(1) in _NEEDS_K and m.group(2) is None) or (m.group(2) and int(m.group(2)) < 1):
        raise ValueError(
            f"unknown metric {name!r}; use ndcg, ndcg@K, map, map@K, mrr, mrr@K, p@K, "
            f"recall@K, hits@K, roc_auc, avg_precision, {', '.join(COUNTS)}"
        )
    return m.group(1), int(m.group(2)) if m.group(2) else None


@dataclass
class QueryRanking:
    """One query's run in trec_eval order, with its grades and relevance flags."""

    docs: list[str]
    scores: np.ndarray
    grades: np.ndarray  # 0 for unjudged
    rel: np.ndarray  # bool, grade >= rel_level
    judged: np.ndarray  # bool
    ideal: np.ndarray  # all judged gains (>= 0), descending
    num_rel: int

    @classmethod
    def build(cls, docs: dict[str, float], judgments: dict[str, int], rel_level: int = 1) -> QueryRanking:
        order = ranked(docs)
        ids = [d for d, _ in order]
        grades = np.array([judgments.get(d, 0) for d in ids], dtype=np.int64)
        ideal = np.sort(np.maximum(np.fromiter(judgments.values(), np.float64, len(judgments)), 0))[::-1]
        return cls(
            ids,
            np.array([s for _, s in order], dtype=np.float64),
            grades,
            grades >= rel_level,
            np.array([d in judgments for d in ids], dtype=bool),
            ideal,
            int(sum(1 for g in judgments.values() if g >= rel_level)),
        )

    def dcg(self, k: int | None) -> float:
        g = np.maximum(self.grades[:k], 0).astype(np.float64)
        return float(np.sum(g / np.log2(np.arange(2, len(g) + 2)))) if len(g) else 0.0

    def ndcg(self, k: int | None = None) -> float:
        ideal = self.ideal[:k]
        idcg = float(np.sum(ideal / np.log2(np.arange(2, len(ideal) + 2)))) if len(ideal) else 0.0
        return self.dcg(k) / idcg if idcg > 0 else 0.0

    def precision_at_rel(self, k: int | None = None) -> np.ndarray:
        rel = self.rel[:k]
        hits = np.cumsum(rel)
        return (hits / np.arange(1, len(rel) + 1))[rel]

    def ap(self, k: int | None = None) -> float:
        return float(np.sum(self.precision_at_rel(k)) / self.num_rel) if self.num_rel else 0.0

    def rr(self, k: int | None = None) -> float:
        idx = np.flatnonzero(self.rel[:k])
        return 1.0 / (idx[0] + 1) if len(idx) else 0.0

    def p(self, k: int) -> float:
        return float(np.sum(self.rel[:k])) / k

    def recall(self, k: int | None = None) -> float:
        return float(np.sum(self.rel[:k])) / self.num_rel if self.num_rel else 0.0

    def hits(self, k: int | None = None) -> float:
        return 1.0 if np.any(self.rel[:k]) else 0.0

    def value(self, kind: str, k: int | None) -> float:
        if kind == "ndcg":
            return self.ndcg(k)
        if kind == "map":
            return self.ap(k)
        if kind == "mrr":
            return self.rr(k)
        if kind == "p":
            if k is None:
                raise ValueError("precision needs a cutoff: p@K")
            return self.p(k)
        if kind == "recall":
            return self.recall(k)
        if kind == "hits":
            return self.hits(k)
        if kind == "num_ret":
            return float(len(self.docs))
        if kind == "num_rel":
            return float(self.num_rel)
        if kind == "num_rel_ret":
            return float(np.sum(self.rel))
        raise ValueError(kind)

    def iprec_at_recall(self) -> np.ndarray:
        """trec_eval's 11-point interpolated precision (recall 0.0, 0.1, ... 1.0).

        As trec_eval does, each recall level is first turned into a number of
        relevant documents, int(level * num_rel + 0.9) in floating point, so
        e.g. 0.7 of 3 relevant needs only 2.
        """
        out = np.zeros(len(RECALL_POINTS))
        n_rel_ret = int(np.sum(self.rel))
        if not self.num_rel or not n_rel_ret:
            return out
        n = len(self.rel)
        prec = np.cumsum(self.rel) / np.arange(1, n + 1)
        interp = np.maximum.accumulate(prec[::-1])[::-1]  # max precision at this rank or deeper
        rel_idx = np.flatnonzero(self.rel)
        for j, r in enumerate(RECALL_POINTS):
            needed = int(r * self.num_rel + 0.9)
            if needed <= n_rel_ret:
                out[j] = interp[rel_idx[max(needed, 1) - 1]]
        return out


def roc_auc(y: Sequence[bool] | np.ndarray, s: Sequence[float] | np.ndarray) -> float:
    """Area under ROC with tied scores averaged (== sklearn.metrics.roc_auc_score)."""
    ya = np.asarray(y, dtype=bool)
    sa = np.asarray(s, dtype=np.float64)
    pos, neg = int(ya.sum()), int((~ya).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(sa, kind="mergesort")
    ss = sa[order]
    ranks = np.empty(len(sa))
    _, start, counts = np.unique(ss, return_index=True, return_counts=True)
    avg = start + (counts + 1) / 2.0  # average 1-based rank of each tie group
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[ya].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def average_precision(y: Sequence[bool] | np.ndarray, s: Sequence[float] | np.ndarray) -> float:
    """Step-wise AP over distinct score thresholds (== sklearn.metrics.average_precision_score)."""
    ya = np.asarray(y, dtype=bool)
    sa = np.asarray(s, dtype=np.float64)
    pos = int(ya.sum())
    if pos == 0:
        return float("nan")
    order = np.argsort(-sa, kind="mergesort")
    ys, ss = ya[order], sa[order]
    last = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]  # last index of each tie group
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall_gain = np.diff(np.r_[0, tp]) / pos
    return float(np.sum(recall_gain * precision))


@dataclass
class Evaluation:
    """Averaged metrics, per-query values and the raw material for curves."""

    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]]
    rankings: dict[str, QueryRanking] = field(repr=False, default_factory=dict)
    rel_level: int = 1
    only_in_run: list[str] = field(default_factory=list)
    only_in_qrels: list[str] = field(default_factory=list)

    def to_json(self, per_query: bool = True) -> dict:
        def clean(d):
            return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}

        out: dict = {"metrics": clean(self.metrics)}
        if per_query:
            out["per_query"] = {q: clean(v) for q, v in sorted(self.per_query.items())}
        out["queries"] = {
            "evaluated": len(self.per_query),
            "only_in_run": len(self.only_in_run),
            "only_in_qrels": len(self.only_in_qrels),
        }
        return out

    def curve_ndcg(self, ks: Iterable[int]) -> dict[int, float]:
        ks = list(ks)
        if not self.rankings:
            return {k: 0.0 for k in ks}
        return {k: float(np.mean([r.ndcg(k) for r in self.rankings.values()])) for k in ks}

    def curve_pr(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean 11-point interpolated precision per recall level (trec_eval iprec_at_recall)."""
        if not self.rankings:
            return np.array(RECALL_POINTS), np.zeros(len(RECALL_POINTS))
        return np.array(RECALL_POINTS), np.mean([r.iprec_at_recall() for r in self.rankings.values()], axis=0)


def evaluate(
    run: Run, qrels: Qrels, metrics: Iterable[str] = DEFAULT_METRICS, rel_level: int = 1, progress: bool = False
) -> Evaluation:
    """Score a run against qrels; see the module docstring for the exact semantics."""
    names = list(dict.fromkeys(canonical(m) for m in metrics))
    parsed = {n: parse_metric(n) for n in names}
    qids = sorted(set(run) & set(qrels))
    per_query: dict[str, dict[str, float]] = {}
    rankings: dict[str, QueryRanking] = {}
    ys: list[np.ndarray] = []
    ss: list[np.ndarray] = []
    it: Iterable[str] = qids
    if progress and len(qids) > 200:
        from tqdm import tqdm

        it = tqdm(qids, desc="evaluating", unit="q", disable=None)
    for q in it:
        r = QueryRanking.build(run[q], qrels[q], rel_level)
        rankings[q] = r
        per_query[q] = {
            n: r.value(kind, k) for n, (kind, k) in parsed.items() if kind not in POOLED and kind != "num_q"
        }
        ys.append(r.rel[r.judged])
        ss.append(r.scores[r.judged])
    out: dict[str, float] = {}
    y = np.concatenate(ys) if ys else np.zeros(0, bool)
    s = np.concatenate(ss) if ss else np.zeros(0)
    for n, (kind, _) in parsed.items():
        if kind == "num_q":
            out[n] = float(len(qids))
        elif kind == "roc_auc":
            out[n] = roc_auc(y, s)
        elif kind == "avg_precision":
            out[n] = average_precision(y, s)
        elif kind in COUNTS:
            out[n] = float(sum(v[n] for v in per_query.values()))
        else:
            out[n] = float(np.mean([v[n] for v in per_query.values()])) if per_query else 0.0
    return Evaluation(out, per_query, rankings, rel_level, sorted(set(run) - set(qrels)), sorted(set(qrels) - set(run)))

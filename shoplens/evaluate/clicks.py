"""Implicit judgments from clicks: UBI logs -> impressions -> CTR, COEC and a
position-based click model (PBM) fitted by EM -> graded qrels.

Raw click-through is biased by position (users click what is on top), so a
shop that judges its ranker by its own clicks just rewards its past ranking.
The PBM separates P(click) = P(examined | position) * P(attractive | query,
doc); the attractiveness is the relevance estimate. COEC (clicks over
expected clicks, OpenSearch SRW's implicit judgment) is offered for parity
with the workbench.

Input is the OpenSearch User Behavior Insights schema (query and event
documents, with or without bulk `{"index": ...}` lines). Other sources, such
as the store's own feedback log, feed `impressions_from_records` with plain
dicts {search_id, query, doc, position, action}.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EvaluateConfig
from ..jsonlines import iter_objects
from .judgments import Judgments, normalise
from .trec import EvalFileError

CLICK_ACTIONS = ("click", "item_click", "add_to_cart", "purchase")
IMPRESSION_ACTIONS = ("impression",)
BULK_ACTIONS = ("index", "create", "update", "delete")
DEFAULT_THRESHOLDS = EvaluateConfig().click_thresholds  # a store's [evaluate] table may override them


@dataclass(frozen=True)
class Impression:
    """One document shown for one search; position is 0-based; clicked if any click action hit it."""

    search_id: str
    query: str
    doc: str
    position: int
    clicked: bool


@dataclass
class ClickLog:
    impressions: list[Impression]
    stats: Counter = field(default_factory=Counter)


def _ubi_docs(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise EvalFileError(path, None, None, "file not found")
    with open(path, encoding="utf-8-sig") as f:
        for no, d, err in iter_objects(f):
            if d is None:
                raise EvalFileError(path, no, None, err or "expected a JSON object")
            if len(d) == 1 and next(iter(d)) in BULK_ACTIONS:
                continue  # bulk action line ahead of a document
            yield no, d


def _position(ev: dict[str, Any], path: Path, no: int) -> int | None:
    pos = (ev.get("event_attributes") or {}).get("position") or {}
    if not isinstance(pos, dict):
        raise EvalFileError(path, no, "event_attributes.position", "must be an object")
    v = pos.get("ordinal", pos.get("index"))
    if v is None:
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        raise EvalFileError(path, no, "event_attributes.position.ordinal", f"not an integer: {v!r}") from None


def read_ubi(paths: str | Path | Sequence[str | Path], click_actions: Sequence[str] = CLICK_ACTIONS) -> ClickLog:
    """Parse UBI query + event files (any order, several files) into impressions."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    query_text: dict[str, str] = {}
    hit_lists: dict[str, list[str]] = {}
    records: list[dict[str, Any]] = []
    stats: Counter = Counter()
    for p in map(Path, paths):
        for no, d in _ubi_docs(p):
            action = d.get("action_name")
            if action is None:  # a query document
                stats["query documents"] += 1
                qid = d.get("query_id")
                if not qid:
                    raise EvalFileError(p, no, "query_id", "query document without query_id")
                if isinstance(d.get("user_query"), str) and d["user_query"].strip():
                    query_text[qid] = d["user_query"]
                if isinstance(d.get("query_response_hit_ids"), list) and d["query_response_hit_ids"]:
                    hit_lists[qid] = [str(h) for h in d["query_response_hit_ids"]]
                continue
            stats["events"] += 1
            if not isinstance(action, str):
                raise EvalFileError(p, no, "action_name", f"must be a string, got {action!r}")
            if action not in click_actions and action not in IMPRESSION_ACTIONS:
                stats[f"ignored action: {action}"] += 1
                continue
            obj = (d.get("event_attributes") or {}).get("object") or {}
            doc = obj.get("object_id") if isinstance(obj, dict) else None
            if not d.get("query_id") or doc in (None, ""):
                stats["events without query_id or object_id"] += 1
                continue
            records.append(
                {
                    "search_id": d["query_id"],
                    "query": d.get("user_query"),
                    "doc": str(doc),
                    "position": _position(d, p, no),
                    "action": "impression" if action in IMPRESSION_ACTIONS else "click",
                }
            )
    for sid, hits in hit_lists.items():
        records += [
            {"search_id": sid, "query": None, "doc": h, "position": i, "action": "impression"}
            for i, h in enumerate(hits)
        ]
    log = impressions_from_records(records, query_text)
    log.stats.update(stats)
    return log


def impressions_from_records(records: Iterable[dict[str, Any]], query_text: dict[str, str] | None = None) -> ClickLog:
    """{search_id, query, doc, position, action: impression|click} -> impressions, one per (search, doc).

    A click without an impression implies one at the click's position; the
    highest position a document was shown at in one search is kept.
    """
    query_text = dict(query_text or {})
    shown: dict[tuple[str, str], int] = {}
    clicked: dict[tuple[str, str], int | None] = {}
    stats: Counter = Counter()
    for r in records:
        sid, doc = str(r["search_id"]), str(r["doc"])
        if r.get("query"):
            query_text.setdefault(sid, r["query"])
        pos = r.get("position")
        if r["action"] == "impression":
            if pos is None:
                stats["impressions without position"] += 1
                continue
            shown[sid, doc] = min(pos, shown.get((sid, doc), pos))
        else:
            clicked.setdefault((sid, doc), pos)
            if clicked[sid, doc] is None:
                clicked[sid, doc] = pos
    for key, pos in clicked.items():
        if key not in shown:
            if pos is None:
                stats["clicks without position or impression"] += 1
                continue
            shown[key] = pos
            stats["clicks without impression (impression implied)"] += 1
    out = []
    for (sid, doc), pos in sorted(shown.items()):
        text = query_text.get(sid)
        if not text or not str(text).strip():
            stats["impressions of searches without query text"] += 1
            continue
        out.append(Impression(sid, str(text).strip(), doc, int(pos), (sid, doc) in clicked))
    stats["impressions"] = len(out)
    stats["clicks"] = sum(i.clicked for i in out)
    stats["searches"] = len({i.search_id for i in out})
    return ClickLog(out, stats)


@dataclass
class PBMFit:
    theta: dict[int, float]  # position -> examination probability
    gamma: dict[tuple[str, str], float]  # (normalised query, doc) -> attractiveness
    iterations: int
    converged: bool
    objective: list[float]  # log posterior per iteration; EM never decreases it


def fit_pbm(
    impressions: Sequence[Impression],
    max_iter: int = 2000,
    tol: float = 1e-6,
    prior: tuple[float, float] = (1.0, 4.0),
    max_position: int = 50,
    progress: bool = False,
) -> PBMFit:
    """EM for the position-based model (Chuklin et al., Click Models for Web Search, ch. 4).

    `prior` = (a, b) pseudo-counts of attractive / unattractive impressions
    added to every pair (a MAP estimate), so a pair seen once is not judged
    from one coin flip; the default (1, 4) says "most shown documents are not
    attractive" with the weight of five impressions. Positions past `max_position` share one
    examination parameter. Deterministic: no random initialisation.
    """
    if not impressions:
        raise ValueError("no impressions to fit")
    pairs = sorted({(normalise(i.query), i.doc) for i in impressions})
    pidx = {p: k for k, p in enumerate(pairs)}
    q = np.array([pidx[normalise(i.query), i.doc] for i in impressions])
    r = np.array([min(i.position, max_position) for i in impressions])
    r -= r.min()
    c = np.array([i.clicked for i in impressions], dtype=np.float64)
    nq, nr = len(pairs), int(r.max()) + 1
    a, b = prior
    seen_q = np.bincount(q, minlength=nq)
    seen_r = np.bincount(r, minlength=nr)
    theta = np.full(nr, 0.5)
    gamma = np.full(nq, 0.5)
    ll: list[float] = []
    it = range(1, max_iter + 1)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="fitting click model", unit="iter", disable=None)
    converged = False
    n = 0
    for n in it:  # noqa: B007  (n is read after the loop)
        th, ga = theta[r], gamma[q]
        p_click = np.clip(th * ga, 1e-12, 1 - 1e-12)
        ll.append(
            float(
                np.sum(c * np.log(p_click) + (1 - c) * np.log1p(-p_click))
                + np.sum(a * np.log(gamma) + b * np.log1p(-gamma))
            )
        )
        denom = 1.0 - th * ga
        rel = np.where(c == 1, 1.0, (1 - th) * ga / denom)
        exam = np.where(c == 1, 1.0, th * (1 - ga) / denom)
        new_gamma = (np.bincount(q, rel, nq) + a) / (seen_q + a + b)
        new_theta = np.bincount(r, exam, nr) / np.maximum(seen_r, 1)
        new_theta[seen_r == 0] = theta[seen_r == 0]
        new_gamma, new_theta = np.clip(new_gamma, 1e-6, 1 - 1e-6), np.clip(new_theta, 1e-6, 1 - 1e-6)
        delta = max(np.max(np.abs(new_gamma - gamma)), np.max(np.abs(new_theta - theta)))
        gamma, theta = new_gamma, new_theta
        if delta < tol:
            converged = True
            break
    offset = min(min(i.position, max_position) for i in impressions)
    return PBMFit(
        {k + offset: float(theta[k]) for k in range(nr) if seen_r[k]},
        {p: float(gamma[k]) for k, p in enumerate(pairs)},
        n,
        converged,
        ll,
    )


@dataclass
class PairEstimate:
    query: str
    doc: str
    impressions: int
    clicks: int
    ctr: float
    coec: float
    pbm: float
    mean_position: float


def estimate(impressions: Sequence[Impression], fit: PBMFit | None = None, **pbm_args: Any) -> list[PairEstimate]:
    """Per (query, doc): impressions, clicks, CTR, COEC and PBM attractiveness; sorted by query then doc."""
    fit = fit or fit_pbm(impressions, **pbm_args)
    by_pos_shown: Counter[int] = Counter()
    by_pos_click: Counter[int] = Counter()
    for i in impressions:
        by_pos_shown[i.position] += 1
        by_pos_click[i.position] += i.clicked
    pos_ctr = {p: by_pos_click[p] / by_pos_shown[p] for p in by_pos_shown}
    groups: dict[tuple[str, str], list[Impression]] = defaultdict(list)
    text: dict[str, str] = {}
    for i in impressions:
        key = normalise(i.query)
        text.setdefault(key, i.query)
        groups[key, i.doc].append(i)
    out = []
    for (qn, doc), imps in sorted(groups.items()):
        clicks = sum(i.clicked for i in imps)
        expected = sum(pos_ctr[i.position] for i in imps)
        out.append(
            PairEstimate(
                text[qn],
                doc,
                len(imps),
                clicks,
                clicks / len(imps),
                clicks / expected if expected > 0 else 0.0,
                fit.gamma[qn, doc],
                float(np.mean([i.position for i in imps])),
            )
        )
    return out


def to_judgments(
    estimates: Sequence[PairEstimate],
    model: str = "pbm",
    thresholds: Sequence[float] | None = None,
    min_impressions: int = 1,
) -> Judgments:
    """Grade = number of thresholds the model's estimate reaches (0..len(thresholds)); qids q0001... by query text."""
    if model not in DEFAULT_THRESHOLDS:
        raise ValueError(f"unknown click model {model!r} (use pbm, ctr or coec)")
    th = sorted(thresholds if thresholds is not None else DEFAULT_THRESHOLDS[model])
    kept = [e for e in estimates if e.impressions >= min_impressions]
    texts = sorted({normalise(e.query): e.query for e in kept}.items())
    qid_of = {n: f"q{k + 1:04d}" for k, (n, _) in enumerate(texts)}
    qrels: dict[str, dict[str, int]] = {}
    for e in kept:
        v = getattr(e, model)
        grade = sum(1 for t in th if v >= t - 1e-12) if math.isfinite(v) else 0
        qrels.setdefault(qid_of[normalise(e.query)], {})[e.doc] = grade
    return Judgments(qrels, {qid_of[n]: t for n, t in texts}, "clicks", by_text=True)


def write_estimates(path: str | Path, estimates: Sequence[PairEstimate]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["query", "doc", "impressions", "clicks", "ctr", "coec", "pbm", "mean_position"])
        for e in estimates:
            w.writerow(
                [
                    e.query,
                    e.doc,
                    e.impressions,
                    e.clicks,
                    f"{e.ctr:.6f}",
                    f"{e.coec:.6f}",
                    f"{e.pbm:.6f}",
                    f"{e.mean_position:.3f}",
                ]
            )

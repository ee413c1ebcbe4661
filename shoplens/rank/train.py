"""Training data from the feedback log, position-bias correction, training and validation.

One pass over the log in time order: each logged search (with text and a hit list) that got at
least one click becomes rows (one per shown product, label = clicked/carted/bought), with its
behaviour and profile features computed from the log *before* that search; then its own rows are
added to the running statistics. Examination probabilities per position come from the
position-based click model (`evaluate.clicks.fit_pbm`) fitted on the same log; a click at a
rarely examined position weighs 1/P(examined) relative to the top one (clipped). Validation is
the most recent `val_fraction` of the clicked searches (a time split, as in production).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import RankerSettings
from ..errors import ShoplensError
from ..evaluate import evaluate
from ..evaluate.clicks import fit_pbm, impressions_from_records
from ..evaluate.metrics import average_precision, roc_auc
from ..feedback.log import Event, FeedbackLog, QueryDoc
from ..feedback.profiles import epoch
from .behaviour import CLICKS, Behaviour
from .context import Prepared, RankContext, positions, profile_config
from .features import feature_names
from .harvest import combine, swap_ratios

if TYPE_CHECKING:
    from .model import RankerModule

log = logging.getLogger(__name__)


class TooLittleFeedback(ShoplensError):
    """The log holds too few clicks to train a ranker."""


@dataclass
class Examples:
    x: np.ndarray
    y: np.ndarray
    position: np.ndarray
    group: np.ndarray  # row -> index into qids
    qids: list[str]
    ids: list[str]
    query_rowids: list[int]
    texts: list[str]  # each search's query text (index as qids)
    explored: list[Any] = field(default_factory=list)  # each search's query_attributes.explored (or None)

    def qids_of_rows(self) -> list[str]:
        return [self.qids[g] for g in self.group]


def build_examples(flog: FeedbackLog, ctx: RankContext, after_rowid: int = 0) -> tuple[Examples, dict[str, int]]:
    """Rows for clicked searches logged after query row `after_rowid` (all earlier rows still feed the
    behaviour and profile features)."""
    cfg = ctx.config
    fb = ctx.features
    queries = flog.queries()
    events = flog.events()
    clicked: dict[str, set[str]] = {}
    for _, ev in events:
        if ev.action_name in CLICKS and ev.query_id and ev.object_id:
            clicked.setdefault(ev.query_id, set()).add(ev.object_id)
    entries: list[tuple[str, int, int, QueryDoc | Event]] = [(q.timestamp, 0, rid, q) for rid, q in queries]
    entries += [(ev.timestamp, 1, eid, ev) for eid, ev in events]
    timeline = sorted(
        entries,
        key=lambda t: (t[0], t[1], t[2]),
    )
    beh = Behaviour(fb.vectors_of, fb.attributes_of, cfg.shown, profile_config(cfg))
    cache: dict[str, Prepared] = {}
    xs: list[np.ndarray] = []
    ys: list[bool] = []
    pos: list[int] = []
    grp: list[int] = []
    qids: list[str] = []
    texts: list[str] = []
    explored: list[Any] = []
    ids: list[str] = []
    rowids: list[int] = []
    stats: dict[str, int] = {"searches": len(queries), "events": len(events), "clicked_searches": 0, "clicks": 0}
    for _, _, rid, item in timeline:
        if isinstance(item, Event):
            beh.add_event(item)
            continue
        q = item
        got = clicked.get(q.query_id)
        if got and q.user_query and q.hit_ids:
            shown = list(q.hit_ids[: cfg.shown])
            labels = [pid in got for pid in shown]
            if any(labels):
                stats["clicked_searches"] += 1
                stats["clicks"] += sum(labels)
                if rid > after_rowid:
                    prep = cache.get(q.user_query)
                    if prep is None:
                        prep = cache[q.user_query] = ctx.prepare(ctx.search_unranked(q.user_query), q.user_query)
                    cands = ctx.with_shown(prep, shown)
                    now = epoch(q.timestamp)
                    user = q.user_id or q.client_id
                    x = fb.build(
                        cands,
                        prep.qvecs,
                        prep.understood,
                        beh.features(shown, q.user_query, now),
                        beh.profiles.get(user, now),
                        cfg.depth,
                        beh.profiles.population(now),
                    )
                    xs.append(x)
                    ys += labels
                    pos += list(range(len(shown)))
                    grp += [len(qids)] * len(shown)
                    qids.append(q.query_id)
                    texts.append(q.user_query)
                    explored.append(q.attributes.get("explored"))
                    ids += shown
                    rowids.append(rid)
        beh.add_query(q)
    n = len(feature_names())
    ex = Examples(
        np.concatenate(xs) if xs else np.zeros((0, n), np.float32),
        np.asarray(ys, np.float32),
        np.asarray(pos, np.int64),
        np.asarray(grp, np.int64),
        qids,
        ids,
        rowids,
        texts,
        explored,
    )
    return ex, stats


def examination(ex: Examples, rows: np.ndarray | None = None) -> dict[int, float]:
    """P(examined | position) from the position-based click model (`evaluate.clicks.fit_pbm`), fitted on
    `rows` only (default all): validation metrics use a fit on the training searches alone. A product's
    attractiveness is per query text, shared by every search of that text (keyed per search, each
    (search, product) pair is seen once and the model cannot tell examination from attractiveness)."""
    rows = np.arange(len(ex.y)) if rows is None else rows
    records = []
    for r in rows:
        g = int(ex.group[r])
        qid, text, pid, p = ex.qids[g], ex.texts[g], ex.ids[r], int(ex.position[r])
        records.append({"search_id": qid, "query": text, "doc": pid, "position": p, "action": "impression"})
        if ex.y[r]:
            records.append({"search_id": qid, "query": text, "doc": pid, "position": p, "action": "click"})
    theta = fit_pbm(impressions_from_records(records).impressions, max_iter=300).theta
    # explored pages (randomised adjacent swaps) measure the step from one position to the next
    # without the EM's confound; the EM's steps stay where the log has too few of them
    pairs = [_pairs(ex.explored[int(ex.group[r])]) if ex.explored else None for r in rows]
    ratios = swap_ratios(ex.position[rows].tolist(), (ex.y[rows] > 0).tolist(), pairs)
    return combine(theta, ratios) if ratios else theta


def _pairs(explored: Any) -> list[int] | None:
    """The pair starts a logged page's exploration put up for a swap (query_attributes.explored.pairs)."""
    got = explored.get("pairs") if isinstance(explored, dict) else None
    return [p for p in got if isinstance(p, int)] if isinstance(got, list) else None


def ips_weights(
    ex: Examples, cfg: RankerSettings, theta: dict[int, float] | None = None
) -> tuple[np.ndarray, dict[int, float]]:
    """Positives weigh P(examined | top) / P(examined | their position) (clipped); negatives weigh 1."""
    theta = examination(ex) if theta is None else theta
    top = theta.get(0, max(theta.values()))
    w = np.ones(len(ex.y), np.float32)
    for i, (p, y) in enumerate(zip(ex.position, ex.y)):
        if y:
            w[i] = min(top / max(theta.get(int(p), top), 1e-6), cfg.ips_clip)
    return w, theta


def click_probability(relevance_logit: np.ndarray, position: np.ndarray, theta: dict[int, float]) -> np.ndarray:
    """The position-based model's P(click) = P(examined at the shown position) x sigma(relevance): what an
    IPS-trained ranker (which scores relevance, position bias taken out) predicts for a logged event."""
    top = theta.get(0, max(theta.values()))
    exam = np.asarray([theta.get(int(p), top) for p in position], np.float64)
    return exam / (1.0 + np.exp(-np.clip(relevance_logit.astype(np.float64), -50, 50)))


def validation_metrics(ex: Examples, rows: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """ROC-AUC and PR-AUC over the rows, NDCG@10 per search with clicks as relevance (shoplens.evaluate)."""
    y = ex.y[rows] > 0
    run: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for r, s in zip(rows, scores):
        q = ex.qids[ex.group[r]]
        run.setdefault(q, {})[ex.ids[r]] = float(s)
        qrels.setdefault(q, {})[ex.ids[r]] = int(ex.y[r] > 0)
    ndcg = evaluate(run, qrels, ["ndcg@10"]).metrics["ndcg@10"] if run else float("nan")
    return {"roc_auc": roc_auc(y, scores), "pr_auc": average_precision(y, scores), "ndcg_cut_10": ndcg}


CONSTANT_STD = 1e-4


def standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the training rows. A feature constant in training (the photo components in a
    log of text searches) gets std 1, so a value it takes at serving is not blown up by 1/1e-6."""
    std = x.std(0)
    return x.mean(0), np.where(std > CONSTANT_STD, std, 1.0).astype(np.float32)


def constant_columns(x: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(x.std(0) <= CONSTANT_STD)] if len(x) else []


def check_enough(stats: Mapping[str, int], cfg: RankerSettings) -> None:
    if stats["clicks"] < cfg.min_clicks or stats["clicked_searches"] < cfg.min_searches:
        raise TooLittleFeedback(
            f"the feedback log has {stats['clicks']} clicks over {stats['clicked_searches']} searches that were "
            f"logged with their hit lists; training a ranker needs at least {cfg.min_clicks} clicks over "
            f"{cfg.min_searches} searches (log searches with `search --log` and record events with "
            f"`shoplens feedback log` or `feedback import`); no ranker was written and search is unchanged"
        )


def train(flog: FeedbackLog, ctx: RankContext, progress=None) -> tuple[RankerModule, dict[str, Any], Examples]:
    """Fit a new ranker; returns (torch net, metrics, examples)."""
    from .model import fit, make_net, predict

    cfg = ctx.config
    t0 = time.perf_counter()
    ex, stats = build_examples(flog, ctx)
    check_enough(stats, cfg)
    t_feat = time.perf_counter() - t0
    nq = len(ex.qids)
    n_val = max(1, int(round(nq * cfg.val_fraction)))
    is_val = ex.group >= nq - n_val  # searches are in time order: the newest ones validate
    tr, va = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    theta_tr = examination(ex, tr)  # the validation clicks stay out of the propensities too
    w, _ = ips_weights(ex, cfg, theta_tr)
    pal = positions(cfg) > 0
    ips = not pal or cfg.position_bias == "dual"
    if not ips:  # the position term explains the bias; weighting clicks too would correct it twice
        w = np.ones_like(w)
    pos = ex.position if pal else None
    net = make_net(ex.x.shape[1], *standardisation(ex.x[tr]), cfg, positions(cfg))
    pos_tr, pos_va = (pos[tr], pos[va]) if pos is not None else (None, None)
    hist = fit(
        net,
        ex.x[tr],
        ex.y[tr],
        w[tr],
        ex.x[va],
        ex.y[va],
        w[va],
        cfg,
        pos=pos_tr,
        posv=pos_va,
        group=ex.group[tr],
        groupv=ex.group[va],
    )
    relevance = predict(net, ex.x[va])  # what serving ranks by
    # predicting held-out clicks: PAL has its own position term; IPS ranks by relevance, so its click
    # prediction is examination at the shown position (PBM fitted on the training searches) x relevance
    clicks = predict(net, ex.x[va], pos_va) if pal else click_probability(relevance, ex.position[va], theta_tr)
    val = validation_metrics(ex, va, clicks)
    base = validation_metrics(ex, va, -ex.position[va].astype(np.float64))
    top = theta_tr.get(0, max(theta_tr.values()))
    position_only = validation_metrics(ex, va, np.asarray([theta_tr.get(int(p), top) for p in ex.position[va]]))
    theta = examination(ex)  # every search: the refit's weights and the reported examination curve
    if cfg.refit_full:
        if ips:
            w, _ = ips_weights(ex, cfg, theta)
        net = make_net(ex.x.shape[1], *standardisation(ex.x), cfg, positions(cfg))
        epochs = max(hist["best_epoch"], 1)
        fit(net, ex.x, ex.y, w, ex.x[:0], ex.y[:0], w[:0], cfg, max_epochs=epochs, pos=pos, group=ex.group)
    metrics = {
        # held-out clicks predicted by the ranker's click model: PAL relevance + position term; IPS
        # P(examined at the shown position) x sigma(relevance)
        "validation": val,
        "validation_relevance": validation_metrics(ex, va, relevance),  # the serving score alone
        "validation_logged_order": base,  # the order the shoppers saw
        "validation_position_only": position_only,  # P(examined at the shown position) alone
        "validation_chance_roc_auc": 0.5,
        "position_bias": cfg.position_bias,
        "train_rows": int(len(tr)),
        "validation_rows": int(len(va)),
        "validation_searches": n_val,
        "epochs": hist["epochs"],
        "best_epoch": hist["best_epoch"],
        "examination_by_position": {str(k): round(v, 4) for k, v in sorted(theta.items())},
        "feedback": stats,
        "seconds": {"features": round(t_feat, 2), "total": round(time.perf_counter() - t0, 2)},
    }
    log.info("ranker validation: %s (logged order: %s)", val, base)
    return net, metrics, ex


def update(
    flog: FeedbackLog, ctx: RankContext, net: RankerModule, after_rowid: int
) -> tuple[RankerModule, dict[str, Any]]:
    """Online update: a few epochs on the searches logged since the ranker was trained, starting from
    its weights (standardisation kept), instead of a full retrain."""
    from .model import fit

    cfg = ctx.config
    t0 = time.perf_counter()
    ex, stats = build_examples(flog, ctx, after_rowid)
    if not len(ex.y):
        raise TooLittleFeedback(
            "no clicked searches were logged since the ranker was trained; nothing to update (the ranker is unchanged)"
        )
    pal = positions(cfg) > 0
    w = ips_weights(ex, cfg)[0] if not pal or cfg.position_bias == "dual" else np.ones(len(ex.y), np.float32)
    pos = ex.position if pal else None
    epochs = cfg.incremental_epochs
    fit(net, ex.x, ex.y, w, ex.x[:0], ex.y[:0], w[:0], cfg, max_epochs=epochs, pos=pos, group=ex.group)
    return net, {
        "update_rows": int(len(ex.y)),
        "update_searches": len(ex.qids),
        "feedback": stats,
        "seconds": {"total": round(time.perf_counter() - t0, 2)},
    }

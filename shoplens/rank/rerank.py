"""Serving: open the store's current ranker (refusing one made for other vectors) and re-rank a
search's fused candidates with it, explaining each hit by its strongest feature groups."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..records import Hit, SearchResult
from .behaviour import Behaviour
from .context import RankContext, from_saved, profile_config
from .features import feature_groups, feature_names, text_features
from .model import OnnxScorer
from .storage import current_version, fingerprint, read_meta

log = logging.getLogger(__name__)


class RankerRefused(StoreError):
    """The stored ranker does not fit this store (its vectors or the feature schema changed)."""


class Ranker:
    """A trained ranker as stored: ONNX session (created once) and its metadata."""

    def __init__(self, version_dir: Path, meta: dict[str, Any]):
        self.dir, self.meta = version_dir, meta
        self.version = meta.get("version", version_dir.name)
        self.fingerprint = meta["fingerprint"]
        self.scorer = OnnxScorer(version_dir / "model.onnx")
        self.mean = np.asarray(meta["feature_mean"], np.float32)
        names = feature_names()
        self.constant = [names.index(n) for n in meta.get("constant_features", []) if n in names]

    @classmethod
    def open(cls, store: Path, manifest) -> Ranker | None:
        """None when no ranker was trained; `RankerRefused` when the stored one does not fit."""
        vdir = current_version(store)
        if vdir is None:
            return None
        meta = read_meta(vdir)
        want = fingerprint(manifest)
        if meta.get("fingerprint") != want or meta.get("feature_names") != feature_names():
            raise RankerRefused(
                f"{vdir}: this ranker was trained for store vectors {meta.get('fingerprint')} but the store now has "
                f"{want} (re-indexed with other models or heads, or a new feature schema); search runs without "
                f"re-ranking until `shoplens train-ranker --store {store}` trains a new one"
            )
        return cls(vdir, meta)


def open_reranker(store: Path, manifest, reader, searcher, feedback_log) -> Reranker | None:
    """The store's current ranker ready to re-rank (None when none was trained); `feedback_log` is
    a callable returning the store's FeedbackLog (opened only when a ranker exists)."""
    ranker = Ranker.open(store, manifest)
    if ranker is None:
        return None
    cfg = from_saved(ranker.meta.get("config", {}))
    return Reranker(ranker, RankContext(reader, searcher, cfg), feedback_log())


class Reranker:
    def __init__(self, ranker: Ranker, ctx: RankContext, feedback_log):
        self.ranker, self.ctx, self.log = ranker, ctx, feedback_log
        fb = ctx.features
        self.behaviour = Behaviour(fb.vectors_of, fb.attributes_of, ctx.config.shown, profile_config(ctx.config))
        self.groups = feature_groups()
        self.text_only = text_features()
        self._lock = threading.Lock()  # one engine may serve several threads (the HTTP server)

    @property
    def depth(self) -> int:
        return self.ctx.config.depth

    def catch_up(self) -> int:
        """Fold events logged since the last search into the behaviour and profile features (online)."""
        with self._lock:
            return self.behaviour.catch_up(self.log)

    def features(self, res: SearchResult, text: str | None, user: str | None, now: float) -> np.ndarray:
        """A photo-only search (no text) keeps what means the same without query text (the engine's
        order, the photo components the log taught, behaviour, the shopper's profile); the query-text
        features, and any the training log never varied, are held at the ranker's training mean."""
        prep = self.ctx.prepare(res, text)
        ids = prep.cands.ids
        x = self.ctx.features.build(
            prep.cands,
            prep.qvecs,
            prep.understood,
            self.behaviour.features(ids, text, now),
            self.behaviour.profiles.get(user, now),
            self.depth,
            self.behaviour.profiles.population(now),
        )
        held = self.ranker.constant + (self.text_only if not text else [])
        if held:
            x[:, held] = self.ranker.mean[held]
        return x

    def rerank(
        self, res: SearchResult, text: str | None, user: str | None, k: int, explain: bool = False
    ) -> SearchResult:
        """Re-order the fused candidates by the ranker and keep `k`; `explain` adds each hit's strongest
        feature groups (one more batched ONNX call)."""
        t0 = time.perf_counter()
        self.catch_up()
        if not res.hits:
            return res
        with self._lock:  # features read the behaviour tables that catch_up writes
            x = self.features(res, text, user, time.time())
        logit = self.ranker.scorer(x)
        order = np.argsort(-logit, kind="stable")[:k]
        prob = 1.0 / (1.0 + np.exp(-np.clip(logit[order].astype(np.float64), -50, 50)))
        why = self._explain(x[order], logit[order]) if explain else [None] * len(order)
        hits: list[Hit] = []
        for i, p, w in zip(order, prob, why):
            h = res.hits[int(i)]
            h.ranker = {"score": round(float(p), 6), "fused_rank": int(i) + 1, "fused_score": round(float(h.score), 6)}
            if w is not None:
                h.ranker["strongest"] = w
            h.score = float(p)
            hits.append(h)
        res.hits = hits
        res.timings_ms["rerank"] = (time.perf_counter() - t0) * 1000
        return res

    def _explain(self, x: np.ndarray, logit: np.ndarray, top: int = 3) -> list[dict[str, float]]:
        """Leave-one-group-out: the logit change when a feature group is set to its training mean
        (one batched ONNX call for every hit and group)."""
        names = list(self.groups)
        rows = np.repeat(x, len(names), axis=0)
        for j, g in enumerate(names):
            rows[j :: len(names), self.groups[g]] = self.ranker.mean[self.groups[g]]
        without = self.ranker.scorer(rows).reshape(len(x), len(names))
        out = []
        for i in range(len(x)):
            delta = logit[i] - without[i]
            best = np.argsort(-np.abs(delta))[:top]
            out.append({names[j]: round(float(delta[j]), 4) for j in best})
        return out

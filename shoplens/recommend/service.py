"""`similar` and `recommend` over one open store generation and its feedback log.

`Engine` holds one `Recommendations` and delegates to it; the co-view model is fitted from the
log on first use and refitted only when events have been added since (the log's row count and
last row id are its stamp), so a storefront calling `recommend` per page view does not rescan
the log each time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..config import RecommendConfig
from ..errors import QueryError
from ..feedback.log import FeedbackLog
from ..feedback.profiles import ProfileBuilder, ProfileConfig
from ..records import Hit, SearchResult
from ..store.reader import StoreReader
from .coview import CoViewModel
from .recommender import recommend_items
from .sessions import Interaction, group_sessions, log_stamp, read_interactions
from .similar import similar_docs

log = logging.getLogger(__name__)

MaskFn = Callable[[dict[str, Any]], "np.ndarray | None"]


def _check_k(k: Any) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise QueryError(f"k must be an integer between 1 and 1000, got {k!r}")
    return k


class Recommendations:
    def __init__(self, reader: StoreReader, feedback: Callable[[], FeedbackLog], mask: MaskFn, cfg: RecommendConfig):
        self.reader, self._feedback, self._mask, self.cfg = reader, feedback, mask, cfg
        self._model: CoViewModel | None = None
        self._stamp: tuple[int, int] | None = None
        self._fit_s, self._fitted_at = 0.0, 0.0
        self._lock = threading.Lock()
        self._doc_of: dict[str, int] | None = None

    # ---- helpers -------------------------------------------------------------------------
    @property
    def doc_of(self) -> dict[str, int]:
        if self._doc_of is None:
            self._doc_of = {pid: d for d, pid in enumerate(self.reader.products.ids)}
        return self._doc_of

    def _hits(self, docs: list[int], scores: dict[int, float], parts: dict[int, dict]) -> list[Hit]:
        titles = self.reader.products.titles(docs)
        ids = self.reader.products.ids
        return [Hit(id=ids[d], score=scores[d], title=titles.get(d), components=parts[d]) for d in docs]

    def coview_model(self) -> CoViewModel:
        """The model for the log as it is now (refitted when events were added)."""
        fb = self._feedback()
        stamp = log_stamp(fb)
        with self._lock:
            # A big log takes seconds to refit: wait at least fit_time / refit_budget between refits
            # (the shopper's own history is still read fresh on every call).
            due = time.monotonic() - self._fitted_at >= self._fit_s / max(self.cfg.refit_budget, 1e-6)
            if self._model is None or (stamp != self._stamp and due):
                t = time.perf_counter()
                events = read_interactions(fb, self.cfg)
                self._model = CoViewModel.fit(group_sessions(events, self.cfg.session_gap_s), self.cfg)
                self._stamp = stamp
                self._fit_s, self._fitted_at = time.perf_counter() - t, time.monotonic()
                log.debug(
                    "co-view model: %d events, %d sessions in %.0f ms",
                    len(events),
                    self._model.sessions,
                    (time.perf_counter() - t) * 1000,
                )
            return self._model

    # ---- similar -------------------------------------------------------------------------
    def similar(
        self, product_id: str, k: int = 10, by: str = "both", filters: dict[str, Any] | None = None
    ) -> SearchResult:
        t0 = time.perf_counter()
        _check_k(k)
        if not isinstance(product_id, str) or not product_id.strip():
            raise QueryError(f"a product id must be a non-empty string, got {product_id!r}")
        doc = self.doc_of.get(product_id)
        if doc is None:
            raise QueryError(f"product {product_id!r} is not in the store {self.reader.store}; check the id")
        allowed = self._mask(dict(filters or {}))
        docs, scores, parts, dropped = similar_docs(self.reader, doc, product_id, k, by, allowed, self.cfg)
        query: dict[str, Any] = {"similar_to": product_id, "by": by, "k": k}
        if filters:
            query["filters"] = dict(filters)
        return SearchResult(
            query=query,
            hits=self._hits(docs, scores, parts),
            understanding={
                "near_duplicates_collapsed": dropped["duplicates"],
                "mmr_lambda": self.cfg.mmr_lambda,
                "duplicate_cosine": self.cfg.duplicate_cosine,
            },
            timings_ms={"total": (time.perf_counter() - t0) * 1000},
        )

    # ---- recommend -----------------------------------------------------------------------
    def _profile(self, history: list[Interaction], n: int, allowed: np.ndarray | None) -> tuple[list, str | None]:
        """The profile side: products nearest the shopper's decayed mean vector, minus what they chose."""
        chosen = {e.item for e in history}
        for field in self.cfg.profile_fields:
            index = self.reader.vectors.get(field)
            if index is None:
                continue

            items = list(dict.fromkeys(e.item for e in history))
            docs = np.asarray([self.doc_of.get(i, -1) for i in items], np.int64)
            known = docs >= 0
            found, vecs = index.vectors_of(docs[known])
            by_item = {i: vecs[j] for j, i in enumerate(i for i, ok in zip(items, known) if ok) if found[j]}

            def vectors_of(pid: str, by_item=by_item, field=field) -> dict[str, np.ndarray] | None:
                return {field: by_item[pid]} if pid in by_item else None

            # The ranker's profiles (feedback/profiles.py), with recommend's action weights and decay.
            builder = ProfileBuilder(
                vectors_of,
                lambda pid: None,
                ProfileConfig(
                    half_life_days=self.cfg.profile_half_life_days,
                    action_weights=dict(self.cfg.action_weights),
                    vector_fields=(field,),
                ),
            )
            for e in history:
                builder.add("shopper", e.item, e.action, e.ts)
            prof = builder.get("shopper")
            vec = prof.vectors.get(field) if prof is not None else None
            if vec is None:
                continue
            scores, docs = index.search(vec, n + len(chosen), allowed)
            ids = self.reader.products.ids
            return [(ids[d], float(s)) for s, d in zip(scores, docs) if ids[d] not in chosen][:n], field
        return [], None

    def recommend(self, user: str, k: int = 10, filters: dict[str, Any] | None = None) -> SearchResult:
        t0 = time.perf_counter()
        _check_k(k)
        if not isinstance(user, str) or not user.strip() or len(user) > 200:
            raise QueryError(f"user must be a non-empty string of at most 200 characters, got {user!r}")
        allowed = self._mask(dict(filters or {}))
        doc_of = self.doc_of

        def keep(item: str) -> bool:
            d = doc_of.get(item)
            return d is not None and (allowed is None or bool(allowed[d]))

        model = self.coview_model()
        history = read_interactions(self._feedback(), self.cfg, user=user)
        profile, field = self._profile(history, max(5 * k, 100), allowed) if history else ([], None)
        recs = recommend_items(model, history, k, self.cfg, profile=profile, keep=keep)
        source = "personal" if history else "popular"
        docs = [doc_of[r.item] for r in recs]
        query: dict[str, Any] = {"recommend_for": user, "k": k, "source": source}
        if filters:
            query["filters"] = dict(filters)
        understanding: dict[str, Any] = {
            "source": source,
            "history_events": len(history),
            "profile_field": field,
            "logged_sessions": model.sessions,
        }
        if not history:
            understanding["note"] = f"no interest events for user {user!r} in the log: most popular items"
        return SearchResult(
            query=query,
            hits=self._hits(
                docs, {doc_of[r.item]: r.score for r in recs}, {doc_of[r.item]: r.components for r in recs}
            ),
            understanding=understanding,
            timings_ms={"total": (time.perf_counter() - t0) * 1000},
        )

"""What training and serving share: turning a search's fused candidates into ranker inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import RankerSettings
from ..feedback.profiles import ProfileConfig
from ..records import SearchResult
from ..search.query import Query
from .features import Candidates, FeatureBuilder
from .model import NetConfig


@dataclass(frozen=True)
class RankerConfig:
    """How the ranker is trained and used. `depth`: candidates re-ranked per search; `shown`: positions
    of a logged hit list counted as shown; below `min_clicks` clicks over `min_searches` clicked searches
    `train-ranker` refuses (a ranker fit on a handful of clicks is noise)."""

    depth: int = 100
    shown: int = 10
    min_clicks: int = 50
    min_searches: int = 20
    val_fraction: float = 0.2
    ips_clip: float = 10.0
    refit_full: bool = True
    incremental_epochs: int = 8
    # how clicks are freed from position bias: "ips" weighs each click by 1 / P(examined at its position)
    # (click model fitted by EM); "pal" learns a logit per position beside relevance and serves relevance alone
    position_bias: str = "ips"
    net: NetConfig = field(default_factory=NetConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)

    def saved(self) -> dict:
        """What serving and online updates must reuse (stored in the ranker's meta.json)."""
        return {
            "depth": self.depth,
            "shown": self.shown,
            "hidden": list(self.net.hidden),
            "half_life_days": self.profile.half_life_days,
            "position_bias": self.position_bias,
            "listwise": self.net.listwise,
        }

    def positions(self) -> int:
        """Position terms a net gets (PAL), 0 for none."""
        return self.shown if self.position_bias == "pal" else 0

    @classmethod
    def from_settings(cls, s: RankerSettings) -> RankerConfig:
        """From the store's [ranker] table (shoplens.toml)."""
        return cls(
            depth=s.depth,
            shown=s.shown,
            min_clicks=s.min_clicks,
            min_searches=s.min_searches,
            val_fraction=s.val_fraction,
            ips_clip=s.ips_clip,
            refit_full=s.refit_full,
            incremental_epochs=s.incremental_epochs,
            position_bias=s.position_bias,
            net=NetConfig(
                hidden=s.hidden,
                dropout=s.dropout,
                lr=s.lr,
                weight_decay=s.weight_decay,
                batch_size=s.batch_size,
                max_epochs=s.max_epochs,
                patience=s.patience,
                seed=s.seed,
                listwise=s.listwise,
            ),
            profile=ProfileConfig(half_life_days=s.profile_half_life_days),
        )

    @classmethod
    def from_saved(cls, saved: dict) -> RankerConfig:
        d = cls()
        return cls(
            depth=int(saved.get("depth", d.depth)),
            shown=int(saved.get("shown", d.shown)),
            net=NetConfig(hidden=tuple(saved.get("hidden", d.net.hidden)), listwise=float(saved.get("listwise", 0.0))),
            profile=ProfileConfig(half_life_days=float(saved.get("half_life_days", d.profile.half_life_days))),
            position_bias=str(saved.get("position_bias", "ips")),  # rankers saved before PAL existed used IPS
        )


@dataclass
class Prepared:
    cands: Candidates
    qvecs: dict[str, np.ndarray]
    understood: dict[str, str]


class RankContext:
    def __init__(self, reader, searcher, config: RankerConfig):
        self.reader, self.searcher, self.config = reader, searcher, config
        self.features = FeatureBuilder(reader)

    def query_vectors(self, text: str | None) -> dict[str, np.ndarray]:
        if not text:
            return {}
        qenc, out = self.searcher.qenc, {}
        for name in qenc.text:
            if f"text:{name}" in self.reader.vectors:
                out[f"text:{name}"] = qenc.text_vec(name, text)
            if f"review:{name}" in self.reader.vectors:  # E_review: the same query vector, vs the reviews
                out[f"review:{name}"] = qenc.text_vec(name, text)
        return out

    def candidates(self, res: SearchResult) -> Candidates:
        doc_of = self.features.doc_of
        ids = [h.id for h in res.hits]
        return Candidates(
            ids=ids,
            docs=np.asarray([doc_of.get(i, -1) for i in ids], np.int64),
            positions=np.arange(len(ids)),
            fused=np.asarray([h.score for h in res.hits], np.float32),
            components=[h.components for h in res.hits],
        )

    def prepare(self, res: SearchResult, text: str | None) -> Prepared:
        und = (res.understanding or {}).get("attributes") or {}
        return Prepared(self.candidates(res), self.query_vectors(text), dict(und))

    def search_unranked(self, text: str) -> SearchResult:
        return self.searcher.search(Query(text=text, k=self.config.depth))

    def with_shown(self, prep: Prepared, shown: list[str]) -> Candidates:
        """The logged hit list as candidates: each shown id with its features from today's fused list
        (an id that list no longer reaches sits just past its end, with no component scores)."""
        c = prep.cands
        where = {pid: i for i, pid in enumerate(c.ids)}
        doc_of = self.features.doc_of
        idx = [where.get(pid, -1) for pid in shown]
        return Candidates(
            ids=list(shown),
            docs=np.asarray([c.docs[i] if i >= 0 else doc_of.get(pid, -1) for i, pid in zip(idx, shown)], np.int64),
            positions=np.asarray([i if i >= 0 else len(c.ids) for i in idx]),
            fused=np.asarray([c.fused[i] if i >= 0 else 0.0 for i in idx], np.float32),
            components=[c.components[i] if i >= 0 else {} for i in idx],
        )

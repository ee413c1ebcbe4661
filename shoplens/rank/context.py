"""What training and serving share: turning a search's fused candidates into ranker inputs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config import RankerSettings
from ..feedback.profiles import ProfileConfig
from ..records import SearchResult
from ..search.query import Query
from .features import Candidates, FeatureBuilder

# The ranker's settings have one definition, the [ranker] table of shoplens.toml (config.RankerSettings),
# which training and serving use as it is.

# What serving and online updates must reuse of the settings a ranker was trained with (its meta.json)
SAVED = ("depth", "shown", "hidden", "profile_half_life_days", "position_bias", "listwise")


def saved(cfg: RankerSettings) -> dict:
    out = {k: getattr(cfg, k) for k in SAVED}
    out["hidden"] = list(cfg.hidden)
    return out


def from_saved(stored: dict) -> RankerSettings:
    """The settings a stored ranker was trained with (defaults for what older rankers did not save)."""
    d = RankerSettings()
    return dataclasses.replace(
        d,
        depth=int(stored.get("depth", d.depth)),
        shown=int(stored.get("shown", d.shown)),
        hidden=tuple(stored.get("hidden", d.hidden)),
        profile_half_life_days=float(
            stored.get("profile_half_life_days", stored.get("half_life_days", d.profile_half_life_days))
        ),
        position_bias=str(stored.get("position_bias", "ips")),  # rankers saved before PAL existed used IPS
        listwise=float(stored.get("listwise", 0.0)),
    )


def positions(cfg: RankerSettings) -> int:
    """Position terms a net gets (PAL), 0 for none."""
    return cfg.shown if cfg.position_bias in ("pal", "dual") else 0


def profile_config(cfg: RankerSettings) -> ProfileConfig:
    return ProfileConfig(half_life_days=cfg.profile_half_life_days)


@dataclass
class Prepared:
    cands: Candidates
    qvecs: dict[str, np.ndarray]
    understood: dict[str, str]


class RankContext:
    def __init__(self, reader, searcher, config: RankerSettings):
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

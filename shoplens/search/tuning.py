"""Search-quality settings of round 2 (issue #12): how attribute re-scoring yields to specific
queries, how a photo and words compose, and when a hit is too weak to show.

A frozen dataclass of its own so that a store's configuration can set it as one section; every
default is the value `benchmarks/bench_quality2.py` measured (the legacy behaviour is `LEGACY`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class QualityConfig:
    # Item 1. The predicted-attribute re-scoring of text->image candidates counts with weight
    # s = ((coverage - floor) / (1 - floor)) ** power against the plain cosine order, coverage =
    # share of the query's content words that the understood attributes explain: "men black
    # shoes" (1.0) is re-scored in full; an exact title such as "Puma Men Grey Ferrari Track
    # Shoes" (3 of 6 words) keeps its cosine order, which knows the brand and model the
    # classifiers cannot see. power 0 = the legacy full re-scoring.
    attribute_coverage_power: float = 1.0
    # ... of the coverage above this floor, rescaled to 0..1: a query no more than half attributes
    # (most product titles) keeps the pure cosine order
    attribute_coverage_floor: float = 0.5
    # below full coverage the cosine and re-scored orders are fused by RRF with this k (small: the
    # top of each order decides)
    rescore_rrf_k: float = 10.0
    # Item 2. Photo + words: candidates are the photo's neighbours in the aligned space plus the
    # products nearest the composed query; each is scored by photo similarity + weight * log P(the
    # wanted attributes | its photo), the wanted attributes being the photo's own type and gender
    # with whatever the words ask for in their place.
    compose: bool = True
    compose_candidates: int = 400
    compose_attribute_weight: float = 0.05
    compose_caption_weight: float = 3.0
    # log-floors for the attributes read from the query photo (a preference, not a rule)
    compose_photo_floors: dict[str, float] = field(default_factory=lambda: {"type": 0.2, "gender": 0.2})
    # Item 6. A page whose best hit's confidence (0..1, search/confidence.py) is below
    # `min_confidence` comes back empty ("nothing matches" is an honest answer); on a page that
    # stays, hits below `min_hit_confidence` are dropped. 0 and 0 keep every hit (legacy).
    min_confidence: float = 0.4
    min_hit_confidence: float = 0.05
    # component -> (cosine midpoint, scale) of the logistic that turns a dense similarity into
    # confidence when nothing else vouches for a hit: where in-catalog and out-of-catalog queries
    # separate on the shared fashion catalog (benchmarks/bench_quality2.py prints both sides).
    cosine_midpoints: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"text_dense:e5": (0.815, 0.01), "text_to_image": (0.42, 0.01)}
    )
    # Item 5. Load the Chinese segmenter and the text encoders when the engine opens (in a
    # background thread), so the first shopper does not pay for them.
    warm_up: bool = True

    def with_(self, **kw: Any) -> QualityConfig:
        return replace(self, **kw)


# What search did before round 2: full re-scoring, photo and words fused as unrelated queries,
# every hit kept. Benchmarks compare against it in the same run.
LEGACY = QualityConfig(
    attribute_coverage_power=0.0, compose=False, min_confidence=0.0, min_hit_confidence=0.0, warm_up=False
)

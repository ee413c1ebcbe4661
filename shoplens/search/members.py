"""Which ensemble members of the heads a text query reads, by the query's shape.

Heads trained with `AlignConfig.title_members` carry two kinds of members: "attributes" members
(the plain recipe: best at "men black shoes") and "title" members (trained with the title-only
loss: best at telling one product's photo from others of its kind, as an exact title needs). A
query that the understood attributes explain in full reads the attribute members; the more of it
they leave unexplained (brand, model, pattern words), the more it reads the title members.
`Heads.weight_members` applies the weights to the query vector alone, so one stored vector per
photo serves every query.
"""

from __future__ import annotations

from ..align.heads import ROLE_ATTRIBUTES, ROLE_TITLE
from ..config import QualityConfig

__all__ = ["member_weights"]


def member_weights(coverage: float, quality: QualityConfig) -> dict[str, float]:
    """Role weights for a text query whose understood attributes explain `coverage` (0..1) of it
    (0 when none are understood). Explained in full ("men black shoes"): the attribute members
    alone. Any word left over (a brand, a model: the shape of a product title): the title members
    get `title_member_share` of the weight (benchmarks/align_members.py cosine: on 1,342 held-out
    titles 1.0 finds more photos than 0.75, the plain mean or a share growing with 1 - coverage)."""
    t = min(1.0, max(0.0, quality.title_member_share)) if coverage < 1.0 else 0.0
    return {ROLE_ATTRIBUTES: 1.0 - t, ROLE_TITLE: t}

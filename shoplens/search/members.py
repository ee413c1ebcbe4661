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
    (0 when none are understood): the title members get t = min(title_member_max,
    title_member_weight * (1 - coverage)), the attribute members 1 - t."""
    t = min(quality.title_member_max, quality.title_member_weight * max(0.0, 1.0 - coverage))
    t = min(1.0, max(0.0, t))
    return {ROLE_ATTRIBUTES: 1.0 - t, ROLE_TITLE: t}

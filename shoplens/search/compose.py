"""Photo + words: "this, but in white".

Fusing the photo's ranking and the words' ranking as two unrelated queries lets the words win
("white" alone finds a white kurta). Here the photo says what kind of product is wanted (the type
and gender the heads' classifiers read from it) and the words say how it should differ: every
attribute the words name replaces the photo's own. Candidates are the photo's neighbours in the
aligned space plus the products nearest a caption of the wanted attributes; each is scored by
    cos(photo, candidate) + c * cos(caption, candidate) + w * sum_f log(floor_f + (1 - floor_f) P(wanted_f | photo))
(Marqo-style weighted multi-term query; c = 3, w = 0.2, the photo's type and gender required (floor
0), the asked colour a preference (floor 0.3, as the colour classifiers are right ~2/3 of the time):
benchmarks/bench_quality2.py --only tune on held-out products, query-mode heads. With an attribute
MLP in the heads, it reads the query photo and the candidates instead of the linear classifiers.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np

from ..preprocess import lexicon
from ..preprocess.text import tokenize
from .fuse import Ranked
from .understand import FILLERS_EN, FILLERS_ZH

__all__ = ["FILLERS_EN", "FILLERS_ZH", "attribute_coverage", "caption", "compose"]

_CAPTION_FIELDS = ("gender", "colour", "type")


def attribute_coverage(query: str, residual: str, n_matches: int) -> float:
    """Share of the query's content words explained by understood attributes (0..1)."""
    if n_matches == 0:
        return 0.0
    rest = [
        t for t in tokenize(residual) if t not in FILLERS_EN and t not in FILLERS_ZH and not re.fullmatch(r"\d+", t)
    ]
    # Chinese search-mode tokens overlap; count characters of unexplained CJK rather than tokens
    cjk = sum(len(t) for t in rest if not t.isascii())
    latin = sum(1 for t in rest if t.isascii())
    unexplained = latin + cjk / 2.0
    return float(n_matches / (n_matches + unexplained))


def caption(wanted: dict[str, str]) -> str:
    """English caption of wanted attributes in the order the heads were trained on ("men white shoes")."""
    return " ".join(lexicon.wording(f, wanted[f]) for f in _CAPTION_FIELDS if f in wanted)


def compose(
    heads,
    index,
    photo_emb: np.ndarray,
    asked: dict[str, str],
    embed_text: Callable[[str], np.ndarray],
    n: int,
    allowed: np.ndarray | None,
    attribute_weight: float,
    photo_floors: dict[str, float],
    caption_weight: float = 1.0,
    negative_weight: float = 0.0,
    *,
    photo_attributes: dict[str, tuple[str, float]] | None = None,
    candidate_log_probs: Callable[[np.ndarray], Mapping[str, np.ndarray] | None] | None = None,
    photo_similarity: Callable[[np.ndarray], np.ndarray | None] | None = None,
    asked_floors: Mapping[str, float] | None = None,
    photo_weight: float = 1.0,
) -> tuple[Ranked, dict[str, str]]:
    """(ranking named "photo_and_words", the attributes it looked for). `negative_weight`: how
    much a candidate's similarity to a caption of what the photo itself shows counts against it
    when the words ask for a change ("this but white" pushes away "men black shoes").
    `photo_attributes`: what the query photo shows (field -> (value, p)) when a better reader than
    the heads' linear classifiers read it (the attribute MLP); `candidate_log_probs`: that reader's
    log-probabilities for candidate rows (field -> (n, classes)); `photo_similarity`: candidate rows
    -> their similarity to the query photo, instead of the aligned cosine (None: keep the cosine);
    `asked_floors`: floors for the attributes the words ask for (a preference, as the photo's are);
    `photo_weight`: the photo similarity's weight."""
    pred = heads.predict_attributes(photo_emb[None])[0] if heads.classifiers else {}
    pred = {**pred, **(photo_attributes or {})}  # the better reader wins where it reads the field
    wanted = {f: v for f, (v, _p) in pred.items() if f in ("type", "gender")}
    wanted.update(asked)
    own = {f: v for f, (v, _p) in pred.items() if f in _CAPTION_FIELDS}
    changed = any(f in own and own[f] != v for f, v in asked.items())
    neg = caption(own) if negative_weight > 0 and changed else ""
    floors = {f: photo_floors[f] for f in wanted if f not in asked and f in photo_floors}
    floors.update({f: float(v) for f, v in (asked_floors or {}).items() if f in asked})
    cap = caption(wanted)
    cap_vec = embed_text(cap) if cap else None
    _, d1 = index.search(photo_emb, n, allowed)
    docs = d1
    if cap_vec is not None:
        _, d2 = index.search(cap_vec, n, allowed)
        docs = np.unique(np.concatenate([d1, d2]))
    if not len(docs):
        return Ranked("photo_and_words", docs, np.zeros(0, np.float32)), wanted
    found, vecs = index.vectors_of(docs)
    docs, vecs = docs[found], vecs[found]
    score = vecs @ photo_emb
    if photo_similarity is not None:
        other = photo_similarity(docs)
        if other is not None:
            score = other
    score = photo_weight * score
    if cap_vec is not None:
        score = score + caption_weight * (vecs @ cap_vec)
    if neg:
        score = score - negative_weight * (vecs @ embed_text(neg))
    if attribute_weight > 0 and heads.classifiers:
        by_reader = candidate_log_probs(docs) if candidate_log_probs is not None else None
        score = score + attribute_weight * heads.attribute_log_probs(vecs, wanted, floors, mlp_log_probs=by_reader)
    order = np.argsort(-score, kind="stable")
    return Ranked("photo_and_words", docs[order], score[order].astype(np.float32)), wanted

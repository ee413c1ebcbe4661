"""Products like this one: nearest neighbours of its own stored vectors (no model call).

By photo (the `image` field: CNN + colour), by text (`text:e5`) or both fused with the search's
RRF. Then two clean-ups a shop needs on a "similar items" row:
* near-duplicates collapse: a candidate whose photo vector is (almost) the query product's or an
  already kept candidate's is the same packshot listed twice; the first of a group stays, and
  copies of the product itself never show;
* diversification by maximal marginal relevance (MMR, Carbonell & Goldstein 1998): each next
  item maximises lambda * relevance - (1 - lambda) * its highest similarity to the items already
  chosen, so five shirts of one colour of one brand do not fill the row.
"""

from __future__ import annotations

import numpy as np

from ..errors import QueryError
from ..records import ComponentScore
from ..search.fuse import Ranked, rrf
from ..store.reader import StoreReader
from .config import RecommendConfig

SIDES = ("photo", "text")


def _fields(by: str, cfg: RecommendConfig) -> dict[str, str]:
    if by not in ("photo", "text", "both"):
        raise QueryError(f"by must be 'photo', 'text' or 'both', got {by!r}")
    fields = {"photo": cfg.photo_field, "text": cfg.text_field}
    return fields if by == "both" else {by: fields[by]}


def _cosines(vecs: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Pairwise cosine of unit vectors; NaN where either side has no vector."""
    sims = vecs @ vecs.T
    sims[~found, :] = np.nan
    sims[:, ~found] = np.nan
    return sims


def similar_docs(
    reader: StoreReader,
    doc: int,
    product_id: str,
    k: int,
    by: str,
    allowed: np.ndarray | None,
    cfg: RecommendConfig,
) -> tuple[list[int], dict[int, float], dict[int, dict[str, ComponentScore]], dict[str, int]]:
    """(docs best first, score per doc, explain parts per doc, counts of what was dropped)."""
    fields = _fields(by, cfg)
    comps: list[Ranked] = []
    for side, field in fields.items():
        index = reader.vectors.get(field)
        if index is None:
            continue
        found, v = index.vectors_of(np.asarray([doc]))
        if not found[0]:
            continue
        scores, docs = index.search(v[0], cfg.candidates + 1, allowed)
        keep = docs != doc
        comps.append(Ranked(side, docs[keep], scores[keep]))
    if not comps:
        missing = " or ".join("a photo" if s == "photo" else "a title/description" for s in fields)
        hint = "; try --by text" if by == "photo" else ("; try --by photo" if by == "text" else "")
        raise QueryError(f"product {product_id!r} has no {missing} in the store to compare by{hint}")
    order, fused, parts = rrf(comps, {c.name: 1.0 for c in comps}, 60)
    if not order:
        return [], {}, {}, {"duplicates": 0}

    # Vectors of the query product (row 0) and every candidate, per side, for de-duplication and MMR.
    pool = np.asarray([doc, *order], np.int64)
    side_sims = {}
    for side in SIDES:
        field = {"photo": cfg.photo_field, "text": cfg.text_field}[side]
        if field in reader.vectors:
            found, vecs = reader.vectors[field].vectors_of(pool)
            side_sims[side] = _cosines(vecs, found)
    photo = side_sims.get("photo")
    text = side_sims.get("text")

    def duplicate(i: int, j: int) -> bool:
        if photo is not None and not np.isnan(photo[i, j]):
            return bool(photo[i, j] >= cfg.duplicate_cosine)
        has_photo = photo is not None and (not np.isnan(photo[i, i]) or not np.isnan(photo[j, j]))
        return bool(not has_photo and text is not None and text[i, j] >= cfg.duplicate_text_cosine)

    kept = [0]  # row 0 = the product itself: its copies are dropped too
    for i in range(1, len(pool)):
        if not any(duplicate(i, j) for j in kept):
            kept.append(i)
    dropped = len(pool) - len(kept)
    cands = kept[1:]

    # Similarity for MMR: mean of the sides' cosines that exist for both products.
    used = [side_sims[s] for s in fields if s in side_sims]
    stacked = np.stack(used)
    counts = (~np.isnan(stacked)).sum(0)
    sim = np.where(counts > 0, np.nansum(stacked, 0) / np.maximum(counts, 1), 0.0)
    best = max(fused[int(pool[i])] for i in cands) if cands else 1.0
    rel = {i: fused[int(pool[i])] / best for i in cands}
    chosen: list[int] = []
    lam = cfg.mmr_lambda
    redundancy = {i: -np.inf for i in cands}
    left = list(cands)
    while left and len(chosen) < k:
        pick = max(left, key=lambda i: (lam * rel[i] - (1 - lam) * max(redundancy[i], 0.0), -i))
        chosen.append(pick)
        left.remove(pick)
        for i in left:
            redundancy[i] = max(redundancy[i], sim[i, pick])
    docs = [int(pool[i]) for i in chosen]
    scores = {d: float(lam * rel[i] - (1 - lam) * max(redundancy[i], 0.0)) for d, i in zip(docs, chosen)}
    return docs, scores, {d: parts[d] for d in docs}, {"duplicates": dropped}

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

from ..config import RecommendConfig
from ..errors import QueryError
from ..records import ComponentScore
from ..search.fuse import Ranked, rrf
from ..store.reader import StoreReader

SIDES = ("photo", "text")
_BLAS = None


def _one_blas_thread():
    """A ~100 x 2,600 product takes 0.7 ms on one BLAS thread and 25-75 ms when BLAS spreads it
    over cores that are busy (measured on 2 loaded cores): small matrices stay on one thread."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


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
        # A few times k leaves room for collapsed duplicates and for MMR to choose.
        hit_scores, hit_docs = index.search(v[0], min(cfg.candidates, 5 * k + 20) + 1, allowed)
        keep = hit_docs != doc
        comps.append(Ranked(side, hit_docs[keep], hit_scores[keep]))
    if not comps:
        missing = " or ".join("photo" if s == "photo" else "text" for s in fields)
        hint = "; try --by text" if by == "photo" else ("; try --by photo" if by == "text" else "")
        raise QueryError(f"product {product_id!r} has no {missing} vector in the store to compare by{hint}")
    # Modality-aware fusion (see search/fuse.py): a product without a photo is judged by the text
    # side alone rather than losing to every product both sides can see.
    n_docs = len(reader.products.ids)
    available = {}
    for c in comps:
        mask = np.zeros(n_docs, bool)
        mask[reader.vectors[fields[c.name]].docs] = True
        available[c.name] = mask
    order, fused, parts = rrf(comps, {c.name: 1.0 for c in comps}, 60, available)
    if not order:
        return [], {}, {}, {"duplicates": 0}

    # Vectors of the query product (row 0) and every candidate, per side, for de-duplication and MMR.
    pool = np.asarray([doc, *order], np.int64)
    side_sims = {}
    with _one_blas_thread():
        for side in SIDES:
            field = {"photo": cfg.photo_field, "text": cfg.text_field}[side]
            if field in reader.vectors:
                found, vecs = reader.vectors[field].vectors_of(pool)
                side_sims[side] = _cosines(vecs, found)
    photo = side_sims.get("photo")
    text = side_sims.get("text")
    m = len(pool)
    dup = np.zeros((m, m), bool)
    has_photo = np.zeros(m, bool)
    if photo is not None:
        has_photo = ~np.isnan(np.diag(photo))
        dup |= np.nan_to_num(photo, nan=-1.0) >= cfg.duplicate_cosine
    if text is not None:  # identical titles count only when neither product has a photo to compare
        no_photo = ~has_photo
        dup |= (np.nan_to_num(text, nan=-1.0) >= cfg.duplicate_text_cosine) & no_photo[:, None] & no_photo[None, :]

    kept = np.zeros(m, bool)
    kept[0] = True  # row 0 = the product itself: its copies are dropped too
    for i in range(1, m):
        if not (dup[i] & kept).any():
            kept[i] = True
    cands = np.flatnonzero(kept)[1:]
    dropped = m - 1 - len(cands)

    # Similarity for MMR: mean of the sides' cosines that exist for both products.
    stacked = np.stack([side_sims[s] for s in fields if s in side_sims])
    counts = (~np.isnan(stacked)).sum(0)
    sim = np.where(counts > 0, np.nansum(stacked, 0) / np.maximum(counts, 1), 0.0)
    rel = np.asarray([fused[int(pool[i])] for i in cands], np.float64)
    rel = rel / rel.max() if len(rel) else rel
    lam = cfg.mmr_lambda
    redundancy = np.zeros(len(cands))  # highest similarity to a chosen item (0 before any is chosen)
    open_ = np.ones(len(cands), bool)
    chosen: list[int] = []
    mmr: list[float] = []
    sub = sim[np.ix_(cands, cands)]
    while open_.any() and len(chosen) < k:
        objective = np.where(open_, lam * rel - (1 - lam) * redundancy, -np.inf)
        j = int(np.argmax(objective))  # first of ties = better fused rank
        chosen.append(j)
        mmr.append(float(objective[j]))
        open_[j] = False
        redundancy = np.maximum(redundancy, np.maximum(sub[:, j], 0.0))
    chosen = [int(cands[j]) for j in chosen]
    docs = [int(pool[i]) for i in chosen]
    scores = dict(zip(docs, mmr))
    return docs, scores, {d: parts[d] for d in docs}, {"duplicates": dropped}

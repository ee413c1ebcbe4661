"""One function per retrieval component; each returns a `Ranked` list of docs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..store.lexical import LexicalIndex
from ..store.products import ProductTable
from ..store.vectors import VectorIndex
from .fuse import Ranked


def bm25(
    lexical: LexicalIndex, text: str, n: int, allowed: np.ndarray | None, extra_tokens: Sequence[str] = ()
) -> Ranked:
    scores, docs = lexical.search(text, n, allowed, extra_tokens)
    return Ranked("bm25", docs, scores)


def dense(name: str, index: VectorIndex, qvec: np.ndarray, n: int, allowed: np.ndarray | None) -> Ranked:
    scores, docs = index.search(qvec, n, allowed)
    return Ranked(name, docs, scores)


def attributes(table: ProductTable, wanted: dict[str, str], pool: Sequence[int] | np.ndarray) -> Ranked:
    """Soft boost: rank pool docs by the share of understood attributes they carry (ties share a rank)."""
    docs = np.asarray(pool, np.int64)
    if not wanted or not len(docs):
        return Ranked("attributes", np.zeros(0, np.int64), np.zeros(0, np.float32))
    score = np.zeros(len(docs), np.float32)
    for field, value in wanted.items():
        codes, vocab = table.attribute_column(field)
        code = vocab.get(str(value).lower())
        if code is not None:
            score += codes[docs] == code
    score /= len(wanted)
    keep = np.flatnonzero(score > 0)
    order = keep[np.argsort(-score[keep], kind="stable")]
    s = score[order]
    ranks = 1 + np.searchsorted(-s, -s, side="left")  # dense-by-position ties: same score, same rank
    return Ranked("attributes", docs[order], s, ranks)

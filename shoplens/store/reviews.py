"""Customer reviews as their own index: one entry per review, lexical (BM25) and dense (e5).

Kept apart from the products' lexical index on purpose: "comfortable for hiking" in a review must
not make a product look like it is *titled* hiking boots, and a shop can weigh reviews on their own
(`SearchConfig.weights["reviews"]`). Indexing reviews one by one (not one document per product)
lets search name the very review that matched, which the hit shows as its snippet.

Layout under a generation: `reviews/rows.npy` (review -> product doc, index of the review within
the product), `reviews/vectors.faiss` (+ `.docs.npy`), `reviews/lexical/` (tantivy),
`reviews/representative.npy` (per product doc: its review nearest the rating-weighted mean, -1 none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..records import Product
from .lexical import TOKENIZER_VERSION, LexicalIndex
from .vectors import FaissIndex


@dataclass
class ReviewMatch:
    """The products reviews found, best first, each with its best-matching review."""

    docs: np.ndarray
    scores: np.ndarray  # e5 cosine of the query with that review
    review: np.ndarray  # index of the matching review within the product
    # products whose reviews contain the query's words, in BM25 order (each once)
    lexical: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class ReviewIndex:
    def __init__(self, rows: np.ndarray, vectors: FaissIndex, lexical: LexicalIndex, representative: np.ndarray):
        self.rows, self.vectors, self.lexical, self.representative = rows, vectors, lexical, representative

    @classmethod
    def build(
        cls, path: Path, products: list[Product], rf: Any, n_docs: int, exact_threshold: int, hnsw_m: int, ef: int
    ) -> ReviewIndex:
        """`rf`: features.reviews.ReviewFeatures for `products` (doc i = products[i])."""
        path.mkdir(parents=True, exist_ok=True)
        rows = np.asarray(rf.rows, np.int64).reshape(-1, 2)
        np.save(path / "rows.npy", rows)
        vectors = FaissIndex.build(rf.vectors, np.arange(len(rows)), len(rows), exact_threshold, hnsw_m, ef)
        vectors.save(path / "vectors.faiss")
        lexical = LexicalIndex.build(
            path / "lexical", [Product(id=str(r), title=products[i].reviews[j]) for r, (i, j) in enumerate(rows)]
        )
        rep = np.full(n_docs, -1, np.int64)
        for i, j in rf.representative.items():
            rep[i] = j
        np.save(path / "representative.npy", rep)
        return cls(rows, vectors, lexical, rep)

    @classmethod
    def load(cls, path: Path, ef: int = 128, tokenizer: str = TOKENIZER_VERSION) -> ReviewIndex:
        rows = np.load(path / "rows.npy")
        return cls(
            rows,
            FaissIndex.load(path / "vectors.faiss", len(rows), ef),
            LexicalIndex.load(path / "lexical", tokenizer),
            np.load(path / "representative.npy"),
        )

    def __len__(self) -> int:
        return len(self.rows)

    def product_mask(self, n_docs: int) -> np.ndarray:
        m = np.zeros(n_docs, bool)
        m[self.rows[:, 0]] = True
        return m

    def search(
        self,
        text: str,
        qvec: np.ndarray,
        n: int,
        allowed: np.ndarray | None,
        extra_tokens: list[str] | tuple[str, ...] = (),
        rrf_k: int = 60,
        min_cosine: float = -1.0,
    ) -> ReviewMatch:
        """Reviews ranked by BM25 and by e5 cosine (those from `min_cosine` up), fused by reciprocal
        rank; a product counts once, through its best review. `allowed`: bool mask over product docs."""
        empty = ReviewMatch(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64))
        if not len(self.rows):
            return empty
        ok = None if allowed is None else allowed[self.rows[:, 0]]
        depth = 3 * n  # several reviews of one product may fill the top
        fused: dict[int, float] = {}
        cos, dense = self.vectors.search(qvec, depth, ok)
        dense = dense[cos >= min_cosine]
        _, lex = self.lexical.search(text, depth, ok, extra_tokens)
        for ranked in (dense, lex):
            for rank, r in enumerate(ranked.tolist(), start=1):
                fused[r] = fused.get(r, 0.0) + 1.0 / (rrf_k + rank)
        best: dict[int, int] = {}
        for r in sorted(fused, key=lambda r: (-fused[r], r)):
            d = int(self.rows[r, 0])
            if d not in best:
                best[d] = r
            if len(best) >= n:
                break
        if not best:
            return empty
        rs = np.fromiter(best.values(), np.int64, len(best))
        _, vecs = self.vectors.vectors_of(rs)
        lexical = np.asarray(list(dict.fromkeys(self.rows[lex, 0].tolist())), np.int64)
        return ReviewMatch(
            np.fromiter(best, np.int64, len(best)), (vecs @ qvec).astype(np.float32), self.rows[rs, 1], lexical
        )

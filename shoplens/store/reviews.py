"""Customer reviews as their own index: one entry per review, lexical (BM25) and dense (e5).

Kept apart from the products' lexical index on purpose: "comfortable for hiking" in a review must
not make a product look like it is *titled* hiking boots, and a shop can weigh reviews on their own
(`SearchConfig.weights["reviews"]`). Indexing reviews one by one (not one document per product)
lets search name the very review that matched, which the hit shows as its snippet.

Layout under a generation: `reviews/rows.npy` (review -> product doc, index of the review within
the product), `reviews/vectors.faiss` (+ `.docs.npy`), `reviews/lexical/` (tantivy),
`reviews/representative.npy` (per product doc: its review nearest the rating-weighted mean, -1 none).
In a store whose vectors are in Milvus the per-review vectors are a collection of the generation
(named in `reviews/vectors.json`), written, published and dropped with its other collections.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import StoreError
from ..fsutil import write_atomic
from ..records import Product
from .lexical import TOKENIZER_VERSION, LexicalIndex
from .manifest import FieldInfo
from .vectors import FaissIndex, VectorIndex

REVIEW_FIELD = "reviews:rows"  # the review collection's field name in a Milvus store
REVIEW_VECTORS = "vectors.json"


@dataclass
class ReviewMatch:
    """The products reviews found, best first, each with its best-matching review."""

    docs: np.ndarray
    scores: np.ndarray  # e5 cosine of the query with that review
    review: np.ndarray  # index of the matching review within the product
    # products whose reviews contain the query's words, in BM25 order (each once)
    lexical: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class ReviewIndex:
    def __init__(self, rows: np.ndarray, vectors: VectorIndex, lexical: LexicalIndex, representative: np.ndarray):
        self.rows, self.vectors, self.lexical, self.representative = rows, vectors, lexical, representative

    @classmethod
    def build(
        cls,
        path: Path,
        products: list[Product],
        rf: Any,
        n_docs: int,
        exact_threshold: int,
        hnsw_m: int,
        ef: int,
        backend: Any = None,
        generation: str = "",
    ) -> ReviewIndex:
        """`rf`: features.reviews.ReviewFeatures for `products` (doc i = products[i]); `backend`: the
        generation's vector backend when it is not embedded (Milvus), `generation` the name it publishes as."""
        path.mkdir(parents=True, exist_ok=True)
        rows = np.asarray(rf.rows, np.int64).reshape(-1, 2)
        np.save(path / "rows.npy", rows)
        vectors: VectorIndex
        if backend is not None and getattr(backend, "name", "faiss") != "faiss":
            vecs = np.asarray(rf.vectors, np.float32)
            where = backend.write_field(
                path.parent, generation, REVIEW_FIELD, vecs, np.arange(len(rows)), len(rows), products=False
            )
            info = {"collection": where["file"], "dim": int(vecs.shape[1]), "rows": len(rows)}
            if where.get("exact_file"):  # Milvus re-scoring from a local float32 file (milvus_rescore_from)
                info["exact_file"] = where["exact_file"]
            write_atomic(path / REVIEW_VECTORS, json.dumps(info))
            vectors = backend.open_field(path.parent, _field_info(info), len(rows), False)
        else:
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
    def load(cls, path: Path, ef: int = 128, tokenizer: str = TOKENIZER_VERSION, backend: Any = None) -> ReviewIndex:
        """`backend`: the store's vector backend (the reader's), for review vectors kept in Milvus."""
        rows = np.load(path / "rows.npy")
        vectors: VectorIndex
        if (path / REVIEW_VECTORS).is_file():
            if backend is None or getattr(backend, "name", "faiss") == "faiss":
                raise StoreError(
                    f"{path}: the review vectors are in a vector server, but the store's manifest names none"
                )
            vectors = backend.open_field(
                path.parent, _field_info(json.loads((path / REVIEW_VECTORS).read_text())), len(rows), False
            )
        else:
            vectors = FaissIndex.load(path / "vectors.faiss", len(rows), ef)
        return cls(
            rows,
            vectors,
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


def _field_info(info: dict[str, Any]) -> FieldInfo:
    return FieldInfo(
        name=REVIEW_FIELD,
        dim=int(info["dim"]),
        rows=int(info["rows"]),
        index="milvus",
        source="reviews",
        file=str(info["collection"]),
        exact_file=info.get("exact_file"),
    )

"""Vector indexes (faiss) behind a small protocol, so Milvus etc. can plug in later.

Exact inner product below `exact_threshold` rows, HNSW above. Filtered search
scores the allowed rows exactly when they are few (HNSW with a selector can
miss allowed rows: graph walks stop early), and uses the selector otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    """What search code sees of a vector field, whichever backend holds it (store/backends/)."""

    dim: int
    kind: str
    docs: np.ndarray  # row -> doc: the docs this field has a vector for

    def __len__(self) -> int: ...

    def search(self, q: np.ndarray, k: int, allowed_docs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, docs) for one query vector, best first; allowed_docs is a bool mask over docs."""
        ...

    def vectors_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows found mask, vectors) for these docs."""
        ...


class FaissIndex:
    def __init__(
        self, index: faiss.Index, docs: np.ndarray, n_docs: int, ef_search: int = 128, exact_subset: int = 20_000
    ):
        """`exact_subset` (IndexConfig.exact_subset): filtered HNSW search scores the allowed rows
        exactly when there are at most this many."""
        self.index = index
        self.docs = docs.astype(np.int64)  # row -> doc
        self.row_of = np.full(n_docs, -1, dtype=np.int64)  # doc -> row
        self.row_of[self.docs] = np.arange(len(self.docs))
        self.dim = index.d
        self.kind = "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"
        self.ef_search = ef_search
        self.exact_subset = exact_subset
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = ef_search

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        docs: np.ndarray,
        n_docs: int,
        exact_threshold: int,
        hnsw_m: int = 32,
        ef_search: int = 128,
    ) -> FaissIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        index: faiss.Index
        if len(vectors) > exact_threshold:
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return cls(index, docs, n_docs, ef_search)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))
        np.save(path.with_suffix(".docs.npy"), self.docs)

    @classmethod
    def load(cls, path: Path, n_docs: int, ef_search: int = 128, exact_subset: int = 20_000) -> FaissIndex:
        return cls(faiss.read_index(str(path)), np.load(path.with_suffix(".docs.npy")), n_docs, ef_search, exact_subset)

    def __len__(self) -> int:
        return len(self.docs)

    def vectors_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = self.row_of[np.asarray(docs, dtype=np.int64)]
        found = rows >= 0
        vecs = np.zeros((len(rows), self.dim), np.float32)
        if found.any():
            vecs[found] = self.index.reconstruct_batch(rows[found])
        return found, vecs

    def search(self, q: np.ndarray, k: int, allowed_docs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1)
        if len(self.docs) == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if allowed_docs is None:
            scores, rows = self.index.search(q, min(k, len(self.docs)))
        else:
            rows_ok = self.row_of[np.flatnonzero(allowed_docs[: len(self.row_of)])]
            rows_ok = rows_ok[rows_ok >= 0]
            if len(rows_ok) == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            if self.kind == "flat" or len(rows_ok) <= self.exact_subset:
                vecs = self.index.reconstruct_batch(rows_ok)
                s = vecs @ q[0]
                top = np.argsort(-s, kind="stable")[:k]
                return s[top].astype(np.float32), self.docs[rows_ok[top]]
            # faiss's bundled __init__.pyi omits SearchParametersHNSW (it exists at run time).
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=faiss.IDSelectorBatch(rows_ok), efSearch=max(self.ef_search, 2 * k)
            )
            scores, rows = self.index.search(q, min(k, len(rows_ok)), params=params)
        scores, rows = scores[0], rows[0]
        keep = rows >= 0
        return scores[keep], self.docs[rows[keep]]

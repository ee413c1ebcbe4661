"""Vector indexes (faiss) behind a small protocol, so Milvus etc. can plug in later.

Exact inner product below `exact_threshold` rows; above, HNSW (or IVF, `IndexConfig.large_index`).
Filtered search scores the allowed rows exactly when they are few (HNSW with a selector can
miss allowed rows: graph walks stop early), and uses the selector otherwise.

Codec "sq8" (`IndexConfig.vector_codec`) keeps the index in 8-bit scalar-quantised form (a
quarter of float32's RAM) and the float32 vectors beside it in a .npy on disk that is never read
whole (positional reads, not a memory map, so its pages stay out of VmRSS): the top `rescore`
candidates of the quantised search are re-scored exactly from it, and `vectors_of` (re-ranking,
similar items, profiles) reads it, so callers see float32.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from ..errors import StoreError

CODECS = ("f32", "sq8")
LARGE_INDEXES = ("hnsw", "ivf")


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


def exact_top(vecs: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, positions) of the k rows of `vecs` with the highest exact inner product with `q`,
    ties in row order: how a quantised index's candidates are re-scored, embedded or in Milvus."""
    s = vecs @ q
    top = np.argsort(-s, kind="stable")[:k]
    return s[top].astype(np.float32), top


def exact_path(path: Path) -> Path:
    """Where an sq8 field keeps its float32 vectors (row order), beside the index file."""
    return path.with_suffix(".f32.npy")


class RowFile:
    """The rows of a 2-d float32 .npy on disk, read by positional reads (`os.preadv`) from one descriptor
    opened once. Not a memory map: re-scoring reads a few hundred scattered rows per query, and mapped
    pages (with the neighbours the kernel maps around each fault) count in the process's VmRSS, which at
    1M products grew to the whole 1.5 GB file; pread goes through the page cache without entering the
    process. Thread-safe: positional reads share no file offset."""

    def __init__(self, path: Path):
        self.fd = -1  # __del__ of a file that failed to open
        fd = os.open(path, os.O_RDONLY)
        try:
            with os.fdopen(os.dup(fd), "rb") as f:
                fmt = np.lib.format
                major, _ = fmt.read_magic(f)
                shape, fortran, dtype = (fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0)(f)
                offset = f.tell()
            if fortran or dtype != np.float32 or len(shape) != 2:
                raise ValueError(f"expected a C-order float32 matrix, found {dtype} {shape}")
            if os.fstat(fd).st_size < offset + shape[0] * shape[1] * 4:
                raise ValueError(f"truncated: {shape} float32 rows do not fit in the file")
        except BaseException:
            os.close(fd)
            raise
        self.path = path
        self.fd = fd
        self.offset = offset
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.row_bytes = self.shape[1] * 4

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, rows: np.ndarray) -> np.ndarray:
        """float32 rows in the order asked; runs of consecutive rows are read with one call."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.shape[1]), np.float32)
        if len(rows) == 0:
            return out
        if rows.min() < 0 or rows.max() >= self.shape[0]:
            raise IndexError(f"{self.path}: row out of range 0..{self.shape[0] - 1}")
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        buf = np.empty_like(out)  # rows in ascending order, then put back in the asked order
        starts = np.flatnonzero(np.diff(srt, prepend=srt[0] - 2) != 1)  # a run: rows r, r+1, ...
        ends = np.append(starts[1:], len(srt))
        view = buf.data.cast("B")
        rb = self.row_bytes
        for a, b in zip(starts.tolist(), ends.tolist()):
            want = (b - a) * rb
            got = os.preadv(self.fd, [view[a * rb : b * rb]], self.offset + int(srt[a]) * rb)
            if got != want:  # a regular file returns short only at its end, which __init__ ruled out
                raise OSError(f"{self.path}: short read ({got} of {want} bytes)")
        out[order] = buf
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.close()


def ivf_nlist(rows: int, nlist: int = 0) -> int:
    """IVF cells: `nlist`, or 4·sqrt(rows) (faiss's guidance of 4-16·sqrt(n)), never more than rows/39
    (faiss wants ~39 training points per centroid)."""
    want = nlist or int(4 * np.sqrt(max(rows, 1)))
    return max(1, min(want, rows // 39 or 1))


def _new_index(codec: str, kind: str, dim: int, rows: int, hnsw_m: int, nlist: int) -> faiss.Index:
    ip = faiss.METRIC_INNER_PRODUCT
    sq8 = faiss.ScalarQuantizer.QT_8bit
    if kind == "hnsw":
        if codec == "sq8":
            return faiss.IndexHNSWSQ(dim, sq8, hnsw_m, ip)  # type: ignore[arg-type]
        return faiss.IndexHNSWFlat(dim, hnsw_m, ip)
    if kind == "ivf":
        quantizer = faiss.IndexFlatIP(dim)
        n = ivf_nlist(rows, nlist)
        if codec == "sq8":
            return faiss.IndexIVFScalarQuantizer(quantizer, dim, n, sq8, ip)
        return faiss.IndexIVFFlat(quantizer, dim, n, ip)  # the wrapper keeps `quantizer` alive
    return faiss.IndexScalarQuantizer(dim, sq8, ip) if codec == "sq8" else faiss.IndexFlatIP(dim)


def _kind_of(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


class FaissIndex:
    def __init__(
        self,
        index: faiss.Index,
        docs: np.ndarray,
        n_docs: int,
        ef_search: int = 128,
        exact_subset: int = 20_000,
        exact: np.ndarray | RowFile | None = None,
        rescore: int = 400,
        nprobe: int = 32,
    ):
        """`exact_subset` (IndexConfig.exact_subset): filtered HNSW search scores the allowed rows
        exactly when there are at most this many. `exact`: the float32 vectors by row when the index
        holds quantised ones (sq8): in memory when just built, a RowFile on disk when loaded; `rescore`:
        how many quantised candidates (at least k) are re-scored from them; 0 returns the quantised scores."""
        self.index = index
        self.docs = docs.astype(np.int64)  # row -> doc
        self.row_of = np.full(n_docs, -1, dtype=np.int64)  # doc -> row
        self.row_of[self.docs] = np.arange(len(self.docs))
        self.dim = index.d
        self.kind = _kind_of(index)
        self.codec = "sq8" if exact is not None else "f32"
        self.exact = exact
        self.rescore = rescore
        self.ef_search = ef_search
        self.exact_subset = exact_subset
        self.nprobe = nprobe
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = ef_search
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = min(nprobe, index.nlist)
            if exact is None:
                index.make_direct_map()  # reconstruct() for vectors_of and small filtered searches

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        docs: np.ndarray,
        n_docs: int,
        exact_threshold: int,
        hnsw_m: int = 32,
        ef_search: int = 128,
        codec: str = "f32",
        large_index: str = "hnsw",
        ivf_nlist: int = 0,
        nprobe: int = 32,
        rescore: int = 400,
        ef_construction: int = 80,
    ) -> FaissIndex:
        if codec not in CODECS or large_index not in LARGE_INDEXES:
            raise ValueError(
                f"codec {codec!r} / large_index {large_index!r}: expected one of {CODECS} / {LARGE_INDEXES}"
            )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        kind = large_index if len(vectors) > exact_threshold else "flat"
        index = _new_index(codec, kind, dim, len(vectors), hnsw_m, ivf_nlist)
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efConstruction = ef_construction
        if not index.is_trained and len(vectors):
            index.train(_training_sample(vectors, kind))
        if len(vectors):
            index.add(vectors)
        return cls(
            index, docs, n_docs, ef_search, exact=vectors if codec == "sq8" else None, rescore=rescore, nprobe=nprobe
        )

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))
        np.save(path.with_suffix(".docs.npy"), self.docs)
        if self.exact is not None:
            rows = self.exact.read(np.arange(len(self.exact))) if isinstance(self.exact, RowFile) else self.exact
            np.save(exact_path(path), np.ascontiguousarray(rows, dtype=np.float32))

    @classmethod
    def load(
        cls,
        path: Path,
        n_docs: int,
        ef_search: int = 128,
        exact_subset: int = 20_000,
        codec: str = "f32",
        rescore: int = 400,
        nprobe: int = 32,
    ) -> FaissIndex:
        """`codec` as the manifest records it: "sq8" opens the float32 vectors beside the index for positional reads."""
        exact = None
        if codec == "sq8":
            try:
                exact = RowFile(exact_path(path))
            except (OSError, ValueError) as e:
                raise StoreError(
                    f"{exact_path(path)}: the float32 vectors of an sq8 field are missing or unreadable ({e}); "
                    "rebuild the store with `shoplens index CATALOG --store STORE --rebuild`"
                ) from e
        elif codec != "f32":
            raise StoreError(f"{path}: unknown vector codec {codec!r} (this shoplens reads {', '.join(CODECS)})")
        return cls(
            faiss.read_index(str(path)),
            np.load(path.with_suffix(".docs.npy")),
            n_docs,
            ef_search,
            exact_subset,
            exact=exact,
            rescore=rescore,
            nprobe=nprobe,
        )

    def __len__(self) -> int:
        return len(self.docs)

    def index_bytes(self) -> int:
        """Bytes the faiss index itself holds in RAM (the float32 file of sq8 not counted: it stays on disk)."""
        return int(faiss.serialize_index(self.index).nbytes)

    def _rows_vectors(self, rows: np.ndarray) -> np.ndarray:
        """float32 vectors of these rows: from the float32 file (sq8), the built matrix, or the index (f32)."""
        if self.exact is None:
            return self.index.reconstruct_batch(rows)
        if isinstance(self.exact, RowFile):
            return self.exact.read(rows)
        return np.ascontiguousarray(self.exact[rows], dtype=np.float32)

    def vectors_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = self.row_of[np.asarray(docs, dtype=np.int64)]
        found = rows >= 0
        vecs = np.zeros((len(rows), self.dim), np.float32)
        if found.any():
            vecs[found] = self._rows_vectors(rows[found])
        return found, vecs

    def _exact_top(self, q: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, top = exact_top(self._rows_vectors(rows), q, k)
        return scores, self.docs[rows[top]]

    def search(self, q: np.ndarray, k: int, allowed_docs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1)
        if len(self.docs) == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        rescoring = self.exact is not None and self.rescore > 0
        depth = max(k, self.rescore) if rescoring else k
        if allowed_docs is None:
            # float32: the index's own settings, as before sq8 existed; sq8 walks at least `depth` deep
            params = self._params(depth) if rescoring else None
            scores, rows = self.index.search(q, min(depth, len(self.docs)), params=params)
        else:
            rows_ok = self.row_of[np.flatnonzero(allowed_docs[: len(self.row_of)])]
            rows_ok = rows_ok[rows_ok >= 0]
            if len(rows_ok) == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            if self.kind == "flat" or len(rows_ok) <= self.exact_subset:
                return self._exact_top(q[0], rows_ok, k)
            params = self._params(depth, faiss.IDSelectorBatch(rows_ok))
            scores, rows = self.index.search(q, min(depth, len(rows_ok)), params=params)
        scores, rows = scores[0], rows[0]
        keep = rows >= 0
        if rescoring:
            return self._exact_top(q[0], rows[keep], k)
        return scores[keep], self.docs[rows[keep]]

    def _params(self, depth: int, sel: faiss.IDSelector | None = None) -> faiss.SearchParameters | None:
        # faiss's bundled __init__.pyi omits the SearchParameters classes (they exist at run time).
        if self.kind == "hnsw":
            ef = max(self.ef_search, 2 * depth) if sel is not None else max(self.ef_search, depth)
            return faiss.SearchParametersHNSW(sel=sel, efSearch=ef)  # type: ignore[attr-defined]
        if isinstance(self.index, faiss.IndexIVF):
            return faiss.SearchParametersIVF(sel=sel, nprobe=self.index.nprobe)  # type: ignore[call-arg]
        return None


def _training_sample(vectors: np.ndarray, kind: str, most: int = 100_000, seed: int = 0) -> np.ndarray:
    """Rows to train on: SQ8's per-dimension ranges and IVF's k-means need a sample, not all 1M."""
    if len(vectors) <= most:
        return vectors
    pick = np.sort(np.random.default_rng(seed).choice(len(vectors), most, replace=False))
    return np.ascontiguousarray(vectors[pick])

"""Vector fields in Milvus: one collection per (store, generation, field).

A collection holds `doc` (INT64 primary key: the product's row in products.sqlite), `vec`
(inner product, like the embedded store) and, for product fields, the filterable attributes and
price as scalar fields (milvus_scalars.py): a filter becomes a Milvus expression over them. A filter
they cannot express goes as a doc-id expression built from the same allowed-docs mask the embedded
index gets (`doc in [...]`, or `doc not in [...]` when that is shorter), so both backends honour
exactly the same filters. The generation directory keeps each field's doc ids (`vectors/*.docs.npy`):
availability masks need no round trip, and the collection name sits in the manifest.

A quantised index (IVF_SQ8) scores with 8-bit vectors; like the embedded sq8 store, its top
max(k, rescore) candidates are re-scored exactly from float32 vectors, which the search returns
with its hits (`output_fields=["vec"]`: Milvus keeps the raw vectors beside the index), or which a
float32 file in the generation holds (`milvus_rescore_from = "local"`, written by the build).

Every call has a timeout and is retried with doubling backoff; when Milvus stays unreachable the
caller gets a StoreError naming the server. A failed connection is dropped and made anew on the
next call, so search works again as soon as a restarted server answers.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ...config import IndexConfig
from ...errors import ConfigError, StoreError
from ..filters import filters_of
from ..manifest import FieldInfo, Manifest
from ..reviews import REVIEW_VECTORS
from ..vectors import RowFile, exact_top
from .milvus_scalars import ScalarColumns, Scalars, expression, read_columns

log = logging.getLogger(__name__)

INDEX_TYPES = ("HNSW", "IVF_FLAT", "IVF_SQ8", "FLAT")
QUANTISED = ("IVF_SQ8",)  # index types whose scores are approximate: their candidates are re-scored exactly
MAX_TOPK = 16384  # Milvus's limit on one search's `limit`
INSERT_BYTES = 8 << 20  # rows per insert call: well under the 64 MiB gRPC message limit
INSERT_CALLS = 2
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def collection_name(prefix: str, generation: str, field: str) -> str:
    """gen-000007 + text:e5 -> PREFIX_g000007_text__e5 (Milvus allows letters, digits and `_`)."""
    return f"{prefix}_g{generation.split('-')[-1]}_{_UNSAFE.sub('_', field.replace(':', '__'))}"


def index_settings(cfg: IndexConfig, rows: int) -> tuple[str, dict[str, int]]:
    kind = cfg.milvus_index.upper()
    if kind not in INDEX_TYPES:
        raise ConfigError(f"index.milvus_index: {cfg.milvus_index!r} is not one of {', '.join(INDEX_TYPES)}")
    if kind == "HNSW":
        params = {"M": cfg.hnsw_m, "efConstruction": 80}
    elif kind == "FLAT":
        params = {}
    else:
        params = {"nlist": int(min(65536, max(16, 4 * math.sqrt(max(rows, 1)))))}
    return kind, {**params, **cfg.milvus_index_params}


def search_settings(cfg: IndexConfig, kind: str, k: int) -> dict[str, int]:
    if kind == "HNSW":
        params = {"ef": max(cfg.hnsw_ef_search, k)}
    elif kind == "FLAT":
        params = {}
    else:
        params = {"nprobe": 32}
    return {**params, **cfg.milvus_search_params}


def hit_vectors(hits: Any, dim: int) -> np.ndarray:
    """The `vec` output field of one query's hits as a (hits, dim) float32 array. pymilvus (2.5) keeps a
    float vector field as one protobuf FloatArray until a hit is read, then cuts it into a Python list per
    hit (76,800 Python floats for 200 x 384, milliseconds on 2 cores); its wire form is a tag, a length and
    the floats themselves, little-endian, so they are read straight from it. Any other result shape: the lists."""
    lazy = [f for f in getattr(hits, "lazy_field_data", ()) if f.field_name == "vec"]
    if lazy and getattr(hits, "start", None) == 0 and len(lazy[0].vectors.float_vector.data) == len(hits) * dim:
        raw = lazy[0].vectors.float_vector.SerializeToString()
        n, at, shift = 0, 1, 0  # raw[0]: field 1, length-delimited (packed); then the length as a varint
        while raw and raw[0] == 0x0A:
            b = raw[at]
            n |= (b & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if b < 0x80:
                break
        if raw and raw[0] == 0x0A and n == 4 * len(hits) * dim and len(raw) == at + n:
            return np.frombuffer(raw, dtype="<f4", count=len(hits) * dim, offset=at).reshape(len(hits), dim)
    return np.array([h["entity"]["vec"] for h in hits], dtype=np.float32).reshape(len(hits), dim)


class MilvusConnection:
    """A lazily made MilvusClient with timeouts, retries and a clear error when the server is gone."""

    def __init__(self, uri: str, cfg: IndexConfig):
        self.uri, self.cfg = uri, cfg
        self._client: Any = None
        self._lock = threading.Lock()  # searches run on several threads (server, concurrent components)

    def _connect(self) -> Any:
        with self._lock:
            return self._connect_locked()

    def _connect_locked(self) -> Any:
        if self._client is None:
            from pymilvus import MilvusClient

            # an alias of its own: pymilvus shares one connection per URI by default, and closing
            # it (a finished build, a closed reader) would cut every other user of that URI
            self._client = MilvusClient(
                uri=self.uri,
                token=self.cfg.milvus_token,
                timeout=self.cfg.milvus_timeout_s,
                alias=f"shoplens-{uuid.uuid4().hex}",
            )
        return self._client

    def call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        """fn(client), retried; `what` names the operation in the error."""
        import grpc
        from pymilvus.exceptions import MilvusException

        delay, last = 0.2, None
        for attempt in range(self.cfg.milvus_retries + 1):
            try:
                return fn(self._connect())
            except (MilvusException, grpc.RpcError) as e:  # pymilvus lets some gRPC errors (deadlines) through
                last = e
                if "not loaded" in str(e).lower() and self._client is not None:
                    self._reload(e)
                else:
                    self.close()  # a fresh channel reconnects at once; gRPC's own backoff may wait minutes
            if attempt < self.cfg.milvus_retries:
                log.info("Milvus %s at %s failed (%s); retrying in %.1f s", what, self.uri, last, delay)
                time.sleep(delay)
                delay *= 2
        raise StoreError(
            f"Milvus at {self.uri}: {what} failed after {self.cfg.milvus_retries + 1} tries ({last}); is the server "
            "running? Start it (locally: scripts/milvus.sh start), or point the store at another one by re-indexing "
            "with --vectors milvus://HOST:PORT"
        )

    def _reload(self, e: Exception) -> None:
        """After a restart Milvus may answer before it has re-loaded a collection: load it again."""
        m = re.search(r"collection[=\s:\[]*([A-Za-z0-9_]+)", str(e))
        if m:
            try:
                self._client.load_collection(m.group(1), timeout=self.cfg.milvus_timeout_s * 4)
            except Exception as e2:  # noqa: BLE001 - the retry loop reports what finally fails
                log.info("Milvus: re-loading %s failed (%s)", m.group(1), e2)

    def kw(self) -> dict[str, Any]:
        """Per-call options: our timeout, and pymilvus's own retry loop off (ours has the backoff)."""
        return {"timeout": self.cfg.milvus_timeout_s, "retry_times": 0}

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                except Exception:  # noqa: BLE001 - closing a dead connection may fail; it is gone either way
                    pass
                self._client = None


class MilvusIndex:
    """One field's collection, behind the VectorIndex protocol."""

    def __init__(
        self,
        conn: MilvusConnection,
        collection: str,
        docs: np.ndarray,
        dim: int,
        index_type: str,
        cfg: IndexConfig,
        scalars: Scalars | None = None,
        exact: RowFile | None = None,
    ):
        """`scalars`: the attribute fields the collection holds (None: rows that are not products).
        `exact`: the float32 vectors by row of `docs`, on disk (milvus_rescore_from = "local"); None:
        re-scoring reads them from Milvus."""
        self.conn, self.collection, self.cfg = conn, collection, cfg
        self.scalars = scalars
        self.docs = docs.astype(np.int64)
        self.dim = dim
        self.index_type = index_type
        self.kind = f"milvus:{index_type}"
        # as embedded sq8: max(k, rescore) candidates re-scored exactly; 0 (or a float32 index) = Milvus's scores
        self.rescore = cfg.rescore if index_type in QUANTISED else 0
        self.exact = exact
        self.row_of: np.ndarray | None = None  # doc -> row of `exact`
        if exact is not None:
            self.row_of = np.full(int(self.docs.max(initial=-1)) + 1, -1, dtype=np.int64)
            self.row_of[self.docs] = np.arange(len(self.docs))

    def __len__(self) -> int:
        return len(self.docs)

    def _filter(self, allowed_docs: np.ndarray | None) -> str | None:
        """'' (no filter), a scalar or id expression, or None when nothing is allowed."""
        if allowed_docs is None:
            return ""
        filters = filters_of(allowed_docs)
        if filters is not None and self.scalars is not None:
            expr = expression(filters, self.scalars)
            if expr is not None:
                return expr if np.any(allowed_docs) else None
        mask = np.zeros(len(self.docs), dtype=bool)
        inside = self.docs < len(allowed_docs)
        mask[inside] = allowed_docs[self.docs[inside]]
        n_ok = int(mask.sum())
        if n_ok == 0:
            return None
        if n_ok == len(self.docs):
            return ""
        if n_ok <= len(self.docs) - n_ok:
            return f"doc in [{','.join(map(str, self.docs[mask].tolist()))}]"
        return f"doc not in [{','.join(map(str, self.docs[~mask].tolist()))}]"

    def search(self, q: np.ndarray, k: int, allowed_docs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        expr = self._filter(allowed_docs)
        if len(self.docs) == 0 or k <= 0 or expr is None:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.asarray(q, dtype=np.float32).reshape(-1)
        limit = min(max(k, self.rescore), len(self.docs), MAX_TOPK)
        from_milvus = self.rescore > 0 and self.exact is None
        params = {"metric_type": "IP", "params": search_settings(self.cfg, self.index_type, limit)}
        res = self.conn.call(
            f"search of {self.collection}",
            lambda c: c.search(
                self.collection,
                data=[q.tolist()],
                filter=expr,
                limit=limit,
                output_fields=["vec"] if from_milvus else None,
                search_params=params,
                consistency_level=self.cfg.milvus_consistency,
                **self.conn.kw(),
            ),
        )
        hits = res[0] if len(res) else []
        docs = np.asarray(getattr(hits, "ids", None) or [h["id"] for h in hits], dtype=np.int64)
        if self.rescore <= 0:
            return np.asarray(getattr(hits, "distances", None) or [h["distance"] for h in hits], np.float32), docs
        if from_milvus:
            vecs = hit_vectors(hits, self.dim)
        else:
            assert self.exact is not None and self.row_of is not None
            vecs = self.exact.read(self.row_of[docs])
        scores, top = exact_top(vecs, q, k)
        return scores, docs[top]

    def vectors_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        docs = np.asarray(docs, dtype=np.int64)
        vecs = np.zeros((len(docs), self.dim), np.float32)
        found = np.zeros(len(docs), dtype=bool)
        if len(docs) == 0:
            return found, vecs
        if self.exact is not None and self.row_of is not None:  # the local float32 file: no round trip
            inside = (docs >= 0) & (docs < len(self.row_of))
            rows = np.full(len(docs), -1, dtype=np.int64)
            rows[inside] = self.row_of[docs[inside]]
            found = rows >= 0
            if found.any():
                vecs[found] = self.exact.read(rows[found])
            return found, vecs
        want = sorted(set(docs.tolist()))
        rows = self.conn.call(
            f"query of {self.collection}",
            lambda c: c.query(
                self.collection,
                filter=f"doc in [{','.join(map(str, want))}]",
                output_fields=["doc", "vec"],
                consistency_level=self.cfg.milvus_consistency,
                **self.conn.kw(),
            ),
        )
        by_doc = {int(r["doc"]): r["vec"] for r in rows}
        for i, d in enumerate(docs.tolist()):
            v = by_doc.get(d)
            if v is not None:
                found[i] = True
                vecs[i] = np.asarray(v, dtype=np.float32)
        return found, vecs


def review_collections(gen: Path) -> list[str]:
    """The collection a generation's review index keeps its vectors in, if it is in Milvus."""
    f = gen / "reviews" / REVIEW_VECTORS
    if not f.is_file():
        return []
    try:
        return [str(json.loads(f.read_text())["collection"])]
    except (OSError, ValueError, KeyError):
        return []


class MilvusBackend:
    name = "milvus"

    def __init__(
        self,
        uri: str,
        prefix: str,
        cfg: IndexConfig,
        index: dict[str, Any] | None = None,
        scalars: dict[str, Any] | None = None,
    ):
        self.uri, self.prefix, self.cfg = uri, prefix, cfg
        self.index = index or {}  # from a manifest: what the collections were built with
        self.conn = MilvusConnection(uri, cfg)
        self._built: dict[str, Any] = {}
        self._pending: dict[str, tuple[int, str, dict[str, int]]] = {}  # written, not sealed: rows, index
        self.scalars = Scalars.from_record(scalars)  # from a manifest: the product collections' scalar fields
        self._columns: tuple[Path, ScalarColumns] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "milvus",
            "uri": self.uri,
            "collection_prefix": self.prefix,
            "index": self._built or self.index,
            "metric": "IP",
            "scalars": self.scalars.describe(),
        }

    def _scalar_columns(self, gen_dir: Path, n_docs: int) -> ScalarColumns:
        """The generation's filterable attributes (its products.sqlite is written before the vectors)."""
        if self._columns is None or self._columns[0] != gen_dir:
            self._columns = (gen_dir, read_columns(gen_dir / "products.sqlite", n_docs))
            self.scalars = self._columns[1].scalars
        return self._columns[1]

    def write_field(
        self,
        gen_dir: Path,
        generation: str,
        name: str,
        vectors: np.ndarray,
        docs: np.ndarray,
        n_docs: int,
        products: bool = True,
    ) -> dict[str, Any]:
        """`products=False`: rows that are not products (reviews), with no attribute fields."""
        from pymilvus import DataType, MilvusClient

        coll = collection_name(self.prefix, generation, name)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = int(vectors.shape[1])
        kind, params = index_settings(self.cfg, n_docs if products else len(docs))
        if products:  # one setting for all product fields of the generation
            self._built = {"type": kind, "params": params}
        columns = self._scalar_columns(gen_dir, n_docs) if products else None
        call, kw = self.conn.call, self.conn.kw()
        # a build interrupted at this generation number may have left it behind
        self._drop(coll)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("doc", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        if columns is not None:
            for attr, field_name in columns.scalars.fields.items():
                schema.add_field(field_name, DataType.VARCHAR, max_length=columns.scalars.max_bytes[attr])
            if columns.scalars.price:
                schema.add_field("price", DataType.DOUBLE)
        call(
            f"creating {coll}",
            lambda c: c.create_collection(coll, schema=schema, consistency_level=self.cfg.milvus_consistency, **kw),
        )
        step = max(1, INSERT_BYTES // (4 * dim))
        # two calls in flight: one batch is made into a request while the server takes the other
        # (rows/s +20% over one at a time on 2 cores; benchmarks/bench_1m.py --codecs milvus)
        with ThreadPoolExecutor(max_workers=INSERT_CALLS) as pool:
            batches = [
                pool.submit(self._insert, coll, docs[i : i + step], vectors[i : i + step], columns)
                for i in range(0, len(docs), step)
            ]
            for f in batches:
                f.result()
        np.save(gen_dir / "vectors" / f"{coll}.docs.npy", docs.astype(np.int64))
        self._pending[coll] = (len(docs), kind, params)
        where: dict[str, Any] = {"index": f"milvus:{kind}", "file": coll}
        if kind in QUANTISED and self.cfg.milvus_rescore_from == "local":
            rel = f"vectors/{coll}.f32.npy"  # rows in `docs` order, read by row when re-scoring
            np.save(gen_dir / rel, vectors)
            where |= {"codec": "sq8", "exact_file": rel}
        return where

    def finish(self) -> None:
        """Flush, index and load every collection written, side by side (each mostly waits on the
        server), and check that each holds all its rows before the generation may be published."""
        pending, self._pending = self._pending, {}
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(pending)))) as pool:
            for f in [pool.submit(self._seal, coll, *how) for coll, how in pending.items()]:
                f.result()

    def _seal(self, coll: str, rows: int, kind: str, params: dict[str, int]) -> None:
        from pymilvus import MilvusClient

        call, kw = self.conn.call, self.conn.kw()
        call(f"flush of {coll}", lambda c: c.flush(coll, timeout=self.cfg.milvus_timeout_s * 12))
        ip = MilvusClient.prepare_index_params()
        ip.add_index(field_name="vec", index_type=kind, metric_type="IP", params=params)
        call(f"indexing {coll}", lambda c: c.create_index(coll, ip, **kw))
        self._wait_indexed(coll)
        call(
            f"loading {coll}",
            lambda c: c.load_collection(
                coll, replica_number=self.cfg.milvus_replicas, timeout=self.cfg.milvus_timeout_s * 24
            ),
        )
        got = call(
            f"count of {coll}",
            lambda c: c.query(coll, filter="", output_fields=["count(*)"], consistency_level="Strong", **kw),
        )
        n = int(got[0]["count(*)"]) if got else 0
        if n != rows:
            raise StoreError(f"Milvus at {self.uri}: {coll} holds {n} rows after the build, expected {rows}")

    def _insert(self, coll: str, docs: np.ndarray, vectors: np.ndarray, columns: ScalarColumns | None) -> None:
        rows: list[dict[str, Any]] = [{"doc": int(d), "vec": v} for d, v in zip(docs.tolist(), vectors)]
        if columns is not None:
            for name, values in columns.rows(docs).items():
                for row, v in zip(rows, values):
                    row[name] = v
        self.conn.call(f"insert into {coll}", lambda c: c.insert(coll, rows, **self.conn.kw()))

    def _drop(self, coll: str) -> None:
        self.conn.call(f"drop of {coll}", lambda c: c.drop_collection(coll, **self.conn.kw()))

    def _wait_indexed(self, coll: str, timeout_s: float = 600.0) -> None:
        """Searches before the index is built scan brute force; wait so a published generation is fast."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            d = self.conn.call(f"describing {coll}'s index", lambda c: c.describe_index(coll, "vec", **self.conn.kw()))
            if not d or d.get("state") in ("Finished", None) or int(d.get("pending_index_rows", 0)) == 0:
                return
            time.sleep(0.5)
        log.warning("Milvus: %s's index still building after %.0f s; searches scan until it is done", coll, timeout_s)

    def open_field(self, gen_dir: Path, info: FieldInfo, n_docs: int, products: bool = True) -> MilvusIndex:
        docs = np.load(gen_dir / "vectors" / f"{info.file}.docs.npy")
        index_type = str(self.index.get("type", "HNSW"))
        exact = None
        if self.cfg.milvus_rescore_from == "local" and index_type in QUANTISED and self.cfg.rescore > 0:
            if info.exact_file is None:
                log.warning(
                    '%s: no local float32 vectors in %s (built with milvus_rescore_from = "milvus"); re-scoring '
                    "reads them from Milvus. Re-index with --rebuild to write them",
                    info.name,
                    gen_dir,
                )
            else:
                try:
                    exact = RowFile(gen_dir / info.exact_file)
                except (OSError, ValueError) as e:
                    raise StoreError(
                        f"{gen_dir / info.exact_file}: the float32 vectors of {info.name} are missing or unreadable "
                        f"({e}); rebuild the store with `shoplens index CATALOG --store STORE --rebuild`, or set "
                        '[index] milvus_rescore_from = "milvus" to read them from Milvus'
                    ) from e
        return MilvusIndex(
            self.conn, info.file, docs, info.dim, index_type, self.cfg, self.scalars if products else None, exact
        )

    def retire(self, store: Path) -> list[str]:
        """Drop this store's collections that no generation on disk refers to (older generations
        dropped by keep_generations, an interrupted build's)."""
        keep: set[str] = set()
        for gen in store.glob("gen-*"):
            if not gen.is_dir() or not gen.name[4:].isdigit():
                continue
            try:
                m = Manifest.load(gen)
            except Exception:  # noqa: BLE001 - a half-deleted generation: its collections go too
                continue
            keep |= {info.file for info in m.fields.values()}
            keep |= set(review_collections(gen))
        names = self.conn.call("listing collections", lambda c: c.list_collections(**self.conn.kw()))
        gone = [n for n in names if n.startswith(self.prefix + "_g") and n not in keep]
        for n in gone:
            self._drop(n)
        if gone:
            log.info("Milvus: dropped %d collections of retired generations", len(gone))
        return gone

    def close(self) -> None:
        self.conn.close()

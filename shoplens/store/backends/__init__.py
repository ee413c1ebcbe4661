"""Where a store's vector fields live: embedded faiss files (the default) or a Milvus server.

A build picks the backend from `IndexConfig.vectors` and records it in the manifest (`vectors`);
a reader opens whatever the manifest names, so `search --store DIR` needs nothing else and the
search code only ever sees `VectorIndex` objects. Each generation writes its own fields (files in
the generation dir, or its own Milvus collections), so publishing stays one atomic rename and a
reader of an older generation keeps working until `keep_generations` drops it.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...config import IndexConfig
from ...errors import ConfigError
from ...fsutil import write_atomic
from ..layout import current_generation
from ..manifest import FieldInfo, read_manifest
from ..vectors import FaissIndex, VectorIndex, exact_path

_MILVUS = re.compile(r"^milvus://(?P<host>[^/:]+):(?P<port>\d+)(?:/(?P<prefix>[A-Za-z_][A-Za-z0-9_]*))?/?$")


class VectorBackend(Protocol):
    name: str

    def describe(self) -> dict[str, Any]:
        """The manifest's `vectors` record: enough to open the fields again, and no secret."""
        ...

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
        """Store one field of a generation being built; where it went, as FieldInfo keywords (`index`
        kind and `file`, plus `codec`/`exact_file` for a quantised faiss field). `products=False`: the
        rows are not products (the review index's), so they carry no product attributes."""
        ...

    def finish(self) -> None:
        """Every field is written: make them durable and searchable (before the manifest is saved)."""
        ...

    def open_field(self, gen_dir: Path, info: FieldInfo, n_docs: int, products: bool = True) -> VectorIndex: ...

    def retire(self, store: Path) -> list[str]:
        """Drop what no generation on disk refers to any more; the names dropped."""
        ...

    def close(self) -> None: ...


def parse_vectors(spec: str) -> dict[str, Any]:
    """`embedded` | `faiss` | `milvus://HOST:PORT[/PREFIX]` -> {"backend", ...}."""
    s = spec.strip()
    if s in ("", "embedded", "faiss"):  # "": see backend_for_build
        return {"backend": "faiss"}
    m = _MILVUS.match(s)
    if not m:
        raise ConfigError(
            f"vectors: {spec!r} is not a vector backend; use 'embedded' or milvus://HOST:PORT[/PREFIX] "
            "(PREFIX: letters, digits and underscores), e.g. milvus://127.0.0.1:19530/shop"
        )
    return {"backend": "milvus", "uri": f"http://{m['host']}:{m['port']}", "prefix": m["prefix"] or "shoplens"}


def store_id(store: Path) -> str:
    """A random id for this store (STORE/store-id), so several stores can share one Milvus server."""
    f = store / "store-id"
    if f.is_file():
        sid = f.read_text().strip()
        if re.fullmatch(r"[0-9a-f]{12}", sid):
            return sid
    sid = uuid.uuid4().hex[:12]
    write_atomic(f, sid)
    return sid


class EmbeddedBackend:
    """One faiss index per field, in the generation's vectors/ directory."""

    name = "faiss"

    def __init__(self, cfg: IndexConfig):
        self.cfg = cfg

    def describe(self) -> dict[str, Any]:
        return {"backend": "faiss"}

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
        c = self.cfg
        idx = FaissIndex.build(
            vectors,
            docs,
            n_docs,
            c.exact_threshold,
            c.hnsw_m,
            c.hnsw_ef_search,
            codec=c.vector_codec,
            large_index=c.large_index,
            ivf_nlist=c.ivf_nlist,
            nprobe=c.ivf_nprobe,
            rescore=c.rescore,
        )
        rel = f"vectors/{name.replace(':', '__')}.faiss"
        (gen_dir / "vectors").mkdir(exist_ok=True)
        idx.save(gen_dir / rel)
        where: dict[str, Any] = {"index": idx.kind, "file": rel}
        if idx.codec == "sq8":
            where |= {"codec": idx.codec, "exact_file": str(exact_path(Path(rel)))}
        return where

    def finish(self) -> None:
        pass  # publish() fsyncs the files

    def open_field(self, gen_dir: Path, info: FieldInfo, n_docs: int, products: bool = True) -> VectorIndex:
        c = self.cfg
        return FaissIndex.load(
            gen_dir / info.file, n_docs, c.hnsw_ef_search, c.exact_subset, info.codec, c.rescore, c.ivf_nprobe
        )

    def retire(self, store: Path) -> list[str]:
        return []  # the files go with their generation directory

    def close(self) -> None:
        pass


def backend_for_build(store: Path, cfg: IndexConfig) -> VectorBackend:
    """The backend `IndexConfig.vectors` names for writing a new generation of `store`; unset, the
    one the live generation uses (an upsert stays where the store is)."""
    if not cfg.vectors.strip():
        gen = current_generation(store)
        record = read_manifest(gen).get("vectors") or {} if gen is not None else {}
        return backend_for_manifest(record, cfg, str(store))
    spec = parse_vectors(cfg.vectors)
    if spec["backend"] == "faiss":
        return EmbeddedBackend(cfg)
    from .milvus import MilvusBackend

    return MilvusBackend(spec["uri"], f"{spec['prefix']}_{store_id(store)}", cfg)


def backend_for_manifest(record: dict[str, Any], cfg: IndexConfig, where: str) -> VectorBackend:
    """The backend a generation's manifest records (`where` names the manifest in errors)."""
    kind = record.get("backend", "faiss")
    if kind == "faiss":
        return EmbeddedBackend(cfg)
    if kind == "milvus":
        from .milvus import MilvusBackend

        return MilvusBackend(
            record["uri"], record["collection_prefix"], cfg, record.get("index"), record.get("scalars")
        )
    raise ConfigError(f"{where}: vectors are in a {kind!r} backend, which this shoplens does not know; upgrade it")

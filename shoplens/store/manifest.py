"""The build manifest: what a generation holds and which models made it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .layout import StoreError, write_atomic
from .schema import upgrade_manifest


@dataclass
class FieldInfo:
    """One vector field: where it lives, its dim, and what produced it."""

    name: str
    dim: int
    rows: int
    index: str  # "flat" | "hnsw" | "milvus:HNSW" ...
    source: str  # e.g. "encoder:e5", "combined:mobilenet_v2+efficientnet_lite0", "heads:image"
    file: str  # relative to the generation dir (a Milvus collection name for the Milvus backend)
    # absent in older manifests (= f32); "sq8": quantised index + the float32 vectors in `exact_file`
    codec: str = "f32"
    exact_file: str | None = None  # relative to the generation dir; read by row (pread) for re-scoring


@dataclass
class Manifest:
    schema_version: int
    shoplens_version: str
    generation: str
    created: str
    products: int
    catalogs: list[str]
    encoders: dict[str, dict[str, Any]]  # name -> {modality, dim, fingerprint}
    fields: dict[str, FieldInfo]
    heads: dict[str, Any] | None  # {fingerprint, path, metrics, source}
    field_map: dict[str, str]  # lexicon field -> catalog column
    lexical: dict[str, Any]
    ingest: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    # since schema v2: the weights the `image` vectors were combined with (query photos must be
    # combined the same way), the hash of the settings that shaped this build
    # (config_file.build_fingerprint; None for a store migrated from v1), and the lexicon's hash
    image_part_weights: dict[str, float] = field(default_factory=dict)
    config_fingerprint: str | None = None
    lexicon: str | None = None
    migrated_from: int | None = None  # schema version this generation was migrated from, if any
    # where the vector fields live: {} or {"backend": "faiss"} (files in the generation), or
    # {"backend": "milvus", "uri", "collection_prefix", "index": {...}} (store/backends/)
    vectors: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        d = asdict(self)
        for f in d["fields"].values():  # f32 fields are written as before the codec existed, so older
            if f["codec"] == "f32":  # shoplens still reads them and migrations leave fields unchanged
                del f["codec"], f["exact_file"]
        return json.dumps(d, indent=2, ensure_ascii=False, sort_keys=True)

    def save(self, gen_dir: Path) -> None:
        write_atomic(gen_dir / "manifest.json", self.to_json())

    @classmethod
    def load(cls, gen_dir: Path) -> Manifest:
        """The manifest of a generation, read as the current schema: an older one is upgraded in
        memory (`schema.py`), so old stores stay readable; `shoplens migrate` writes the upgrade."""
        return cls.from_dict(upgrade_manifest(read_manifest(gen_dir), gen_dir))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        d = dict(d)
        d["fields"] = {k: FieldInfo(**v) for k, v in d["fields"].items()}
        return cls(**d)


def read_manifest(gen_dir: Path) -> dict[str, Any]:
    """The raw manifest document of a generation, whatever its schema version."""
    path = gen_dir / "manifest.json"
    try:
        d = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise StoreError(f"{path}: unreadable manifest ({e})") from e
    if not isinstance(d, dict):
        raise StoreError(f"{path}: unreadable manifest (not a JSON object)")
    return d

"""The build manifest: what a generation holds and which models made it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .layout import SCHEMA_VERSION, StoreError, write_atomic


@dataclass
class FieldInfo:
    """One vector field: where it lives, its dim, and what produced it."""

    name: str
    dim: int
    rows: int
    index: str  # "flat" | "hnsw"
    source: str  # e.g. "encoder:e5", "combined:mobilenet_v2+efficientnet_lite0", "heads:image"
    file: str  # relative to the generation dir


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True)

    def save(self, gen_dir: Path) -> None:
        write_atomic(gen_dir / "manifest.json", self.to_json())

    @classmethod
    def load(cls, gen_dir: Path) -> Manifest:
        path = gen_dir / "manifest.json"
        try:
            d = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise StoreError(f"{path}: unreadable manifest ({e})") from e
        if d.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(
                f"{gen_dir}: store schema v{d.get('schema_version')} but this shoplens reads "
                f"v{SCHEMA_VERSION}; rebuild it with `shoplens index CATALOG --store DIR --rebuild`"
            )
        d["fields"] = {k: FieldInfo(**v) for k, v in d["fields"].items()}
        return cls(**d)

"""Open one published generation of a store for reading."""
from __future__ import annotations

from pathlib import Path

from ..config import IndexConfig
from .layout import StoreError, current_generation
from .lexical import LexicalIndex
from .manifest import Manifest
from .products import ProductTable
from .vectors import FaissIndex


class StoreReader:
    def __init__(self, store_dir: str | Path, index_config: IndexConfig | None = None):
        self.store = Path(store_dir)
        gen = current_generation(self.store) if self.store.is_dir() else None
        if gen is None:
            raise StoreError(f"{self.store}: no shoplens store here; create one with "
                             f"`shoplens index CATALOG --store {self.store}`")
        cfg = index_config or IndexConfig()
        self.gen = gen
        self.manifest = Manifest.load(gen)
        self.products = ProductTable(gen / "products.sqlite")
        n = self.manifest.products
        self.vectors = {name: FaissIndex.load(gen / info.file, n, cfg.hnsw_ef_search)
                        for name, info in self.manifest.fields.items()}
        self.lexical = LexicalIndex.load(gen / "lexical")
        self._attr_fields: set[str] | None = None

    @property
    def attribute_fields(self) -> set[str]:
        if self._attr_fields is None:
            self._attr_fields = {r[0] for r in self.products.db.execute("SELECT DISTINCT field FROM attributes")}
        return self._attr_fields

    def close(self) -> None:
        self.products.close()

"""Open one published generation of a store for reading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config import IndexConfig
from .backends import backend_for_manifest
from .layout import StoreError, current_generation
from .lexical import LexicalIndex
from .manifest import Manifest
from .modalities import THUMBNAILS
from .products import ProductTable
from .reviews import ReviewIndex
from .vectors import VectorIndex


class StoreReader:
    def __init__(self, store_dir: str | Path, index_config: IndexConfig | None = None):
        self.store = Path(store_dir)
        gen = current_generation(self.store) if self.store.is_dir() else None
        if gen is None:
            raise StoreError(
                f"{self.store}: no shoplens store here; create one with `shoplens index CATALOG --store {self.store}`"
            )
        cfg = index_config or IndexConfig()
        self.gen = gen
        self.manifest = Manifest.load(gen)
        self.products = ProductTable(gen / "products.sqlite")
        n = self.manifest.products
        # faiss files in the generation or a Milvus server: whichever the manifest records
        self.backend = backend_for_manifest(self.manifest.vectors, cfg, str(gen / "manifest.json"))
        self.vectors: dict[str, VectorIndex] = {
            name: self.backend.open_field(gen, info, n) for name, info in self.manifest.fields.items()
        }
        self._lexical: LexicalIndex | None = LexicalIndex.load(
            gen / "lexical", self.manifest.lexical.get("tokenizer", "shoplens-tok-1")
        )
        self.review_index: ReviewIndex | None = (
            ReviewIndex.load(
                gen / "reviews",
                cfg.hnsw_ef_search,
                self.manifest.lexical.get("tokenizer", "shoplens-tok-1"),
                self.backend,
            )
            if (gen / "reviews").is_dir()
            else None
        )
        self._thumbnails: dict[str, str] | None = None
        # BM25 over the text printed in the products' photos (stores built with OCR on)
        photo = self.manifest.lexical.get("photo_text")
        self.photo_lexical: LexicalIndex | None = (
            LexicalIndex.load(gen / photo, self.manifest.lexical.get("tokenizer", "shoplens-tok-1")) if photo else None
        )
        self._attr_fields: set[str] | None = None
        self._avail: dict[str, np.ndarray] | None = None

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:  # a bug in the caller, not bad input: keep the traceback
            raise RuntimeError(f"{self.store}: StoreReader used after close()")
        return self._lexical

    @property
    def attribute_fields(self) -> set[str]:
        if self._attr_fields is None:
            self._attr_fields = {r[0] for r in self.products.db.execute("SELECT DISTINCT field FROM attributes")}
        return self._attr_fields

    @property
    def availability(self) -> dict[str, np.ndarray]:
        """Component name -> bool mask of the docs it can retrieve (for modality-aware fusion)."""
        if self._avail is None:
            n = self.manifest.products

            def has(field: str) -> np.ndarray:
                m = np.zeros(n, dtype=bool)
                if field in self.vectors:
                    m[self.vectors[field].docs] = True
                return m

            text = np.zeros(n, dtype=bool)
            for name in self.vectors:
                if name.startswith("text:"):
                    text |= has(name)
            attrs = np.zeros(n, dtype=bool)
            attrs[[d for (d,) in self.products.db.execute("SELECT DISTINCT doc FROM attributes")]] = True
            # The photo-text components (ocr, ocr_dense:*) are left out on purpose: a product whose
            # photos carry no words is not scaled up for lacking them, nor is one with words held back.
            self._avail = {
                "bm25": text,
                "text_to_image": has("aligned:image"),
                "image": has("image"),
                "image_to_text": has("aligned:text"),
                "attributes": attrs,
            }
            for name in self.vectors:
                if name.startswith("text:"):
                    self._avail["text_dense:" + name[5:]] = has(name)
            self._avail["text_to_video"] = has("aligned:video")
            self._avail["image_to_video"] = has("video")
            # A product without reviews is one whose review text does not match, as a product whose
            # title does not match counts against it in bm25: reviews are read like product text.
            self._avail["reviews"] = text | (
                self.review_index.product_mask(n) if self.review_index is not None else np.zeros(n, dtype=bool)
            )
        return self._avail

    def thumbnail(self, pid: str) -> Path | None:
        """The key-frame shown for a product that has a video (under the store), if any."""
        if self._thumbnails is None:
            path = self.gen / THUMBNAILS
            self._thumbnails = json.loads(path.read_text()) if path.is_file() else {}
        rel = self._thumbnails.get(pid)
        return self.store / rel if rel else None

    def close(self) -> None:
        self.products.close()
        self.vectors = {}
        self.backend.close()
        self._lexical = None
        self.review_index = None
        self.photo_lexical = None

"""Attributes extracted from each product's texts (preprocess/attributes.py), stored beside the catalog's.

They go into the attributes table as `extracted:<field>` (filterable and facetable like any
attribute, and never mistaken for the catalog's own `colour`), and where each came from (title,
description, review, ocr, and the words) into the table `extracted_sources`.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..preprocess.attributes import EXTRACTED_PREFIX, Extracted, extract, learn
from ..preprocess.field_map import infer_field_map
from ..preprocess.lexicon import Lexicon
from ..records import Product

log = logging.getLogger(__name__)


def product_texts(p: Product, photo_text: str = "") -> list[tuple[str, str | None]]:
    """A product's texts with their source labels, most trusted first."""
    texts: list[tuple[str, str | None]] = [("title", p.title), ("ocr", photo_text), ("description", p.description)]
    texts += [("review", r) for r in p.reviews]
    return texts


def extract_for_store(
    products: Sequence[Product],
    derived: Sequence[Mapping[str, str]],
    photo_text: Sequence[str],
    lex: Lexicon,
) -> list[dict[str, Extracted]]:
    """Learn rules from this catalog's own columns, then extract for every product."""
    t0 = time.perf_counter()
    attrs = [{**d, **p.attributes} for p, d in zip(products, derived)]
    values: dict[str, set[str]] = {}
    for a in attrs:
        for k, v in a.items():
            values.setdefault(k, set()).add(v)
    field_map = infer_field_map(values, lex=lex)
    model = learn([p.title for p in products], attrs, field_map=field_map, lex=lex)
    out = []
    for i, p in enumerate(products):
        out.append(extract(product_texts(p, photo_text[i] if i < len(photo_text) else ""), model, lex=lex))
    log.info(
        "attribute extraction: rules %s; %d of %d products got some (%.1f s)",
        model.describe(),
        sum(1 for e in out if e),
        len(products),
        time.perf_counter() - t0,
    )
    return out


def as_attributes(found: Mapping[str, Extracted]) -> dict[str, str]:
    return {EXTRACTED_PREFIX + f: e.value for f, e in found.items()}


def write_sources(db_path: Path, extracted: Sequence[Mapping[str, Extracted]]) -> None:
    db = sqlite3.connect(str(db_path))
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS extracted_sources (doc INTEGER NOT NULL, field TEXT NOT NULL, "
            "source TEXT NOT NULL, surface TEXT NOT NULL, precision REAL NOT NULL)"
        )
        db.executemany(
            "INSERT INTO extracted_sources VALUES (?,?,?,?,?)",
            [
                (doc, EXTRACTED_PREFIX + f, e.source, e.surface, round(e.precision, 4))
                for doc, found in enumerate(extracted)
                for f, e in found.items()
            ],
        )
        db.commit()
    finally:
        db.close()


def read_sources(db: sqlite3.Connection, doc: int) -> dict[str, dict[str, object]]:
    """`extracted:<field>` -> {source, surface, precision} for one product (empty for older stores)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='extracted_sources'").fetchone() is None:
        return {}
    rows = db.execute("SELECT field, source, surface, precision FROM extracted_sources WHERE doc=?", (int(doc),))
    return {f: {"source": s, "surface": w, "precision": p} for f, s, w, p in rows}


def with_extracted_fields(field_map: dict[str, str], attribute_fields: set[str]) -> dict[str, str]:
    """Lexicon fields the catalog has no column for read the extracted one (query understanding
    then asks for `extracted:colour` in a catalog of bare titles)."""
    out = dict(field_map)
    for f in sorted(attribute_fields):
        if f.startswith(EXTRACTED_PREFIX):
            out.setdefault(f[len(EXTRACTED_PREFIX) :], f)
    return out

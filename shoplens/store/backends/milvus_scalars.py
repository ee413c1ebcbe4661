"""Filterable attributes as Milvus scalar fields, and filters as Milvus expressions over them.

A product collection carries each attribute field that has at most one value per product as a VARCHAR
field (`a0`, `a1`, ... holding the lower-cased value, "" for none; the manifest maps names) and the
price as a DOUBLE (-1 for none; only when no real price is negative). A filter made of equalities on
those fields (a list: any of) and price comparisons becomes `a0 == "men" and (price >= 0 and price <= 50)`,
which Milvus evaluates next to the vectors; the same filter as an id expression lists every allowed doc
(half a million ids for gender=Men at 1M). Anything else (numeric comparisons on attributes, a value with
quotes or backslashes, a field left out) returns None, and the caller sends the id expression instead.
The expression means exactly what `ProductTable.filter_mask` means (`_one_filter`).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..products import NUMERIC_OPS

MAX_FIELDS = 32  # Milvus 2.3 allows 64 fields per collection
MAX_VALUE_BYTES = 1024
NO_PRICE = -1.0
_MILVUS_OP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Scalars:
    """Which attribute fields a generation's product collections hold (attribute -> Milvus field),
    their VARCHAR sizes, and whether `price` is there."""

    fields: dict[str, str] = field(default_factory=dict)
    max_bytes: dict[str, int] = field(default_factory=dict)
    price: bool = False

    def describe(self) -> dict[str, Any]:
        return {"fields": dict(self.fields), "price": self.price}

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Scalars:
        record = record or {}
        return cls(fields=dict(record.get("fields", {})), price=bool(record.get("price", False)))


@dataclass
class ScalarColumns:
    """Per attribute field: value codes by doc (-1: none) and the values; prices by doc."""

    scalars: Scalars
    codes: dict[str, np.ndarray]
    values: dict[str, list[str]]
    price: np.ndarray | None

    def rows(self, docs: np.ndarray) -> dict[str, list[Any]]:
        """Column name -> values of these docs, for an insert."""
        out: dict[str, list[Any]] = {}
        for attr, name in self.scalars.fields.items():
            vals = self.values[attr] + [""]  # code -1 -> ""
            out[name] = [vals[c] for c in self.codes[attr][docs].tolist()]
        if self.scalars.price and self.price is not None:
            out["price"] = self.price[docs].tolist()
        return out


def read_columns(products_db: Path, n_docs: int) -> ScalarColumns:
    """The filterable columns of a generation's products.sqlite (written before its vectors)."""
    db = sqlite3.connect(f"file:{products_db}?mode=ro", uri=True)
    try:
        stats = db.execute(
            "SELECT field, COUNT(*), COUNT(DISTINCT doc) FROM attributes GROUP BY field ORDER BY COUNT(*) DESC, field"
        ).fetchall()
        # one value per product, or the field cannot be an equality on one column
        single = [f for f, rows, docs in stats if rows == docs][:MAX_FIELDS]
        codes: dict[str, np.ndarray] = {}
        values: dict[str, list[str]] = {}
        for f in single:
            code = np.full(n_docs, -1, np.int32)
            index: dict[str, int] = {}
            for doc, v in db.execute("SELECT doc, value_lc FROM attributes WHERE field=?", (f,)):
                code[doc] = index.setdefault(v, len(index))
            codes[f], values[f] = code, list(index)
        prices = db.execute("SELECT doc, price FROM products WHERE price IS NOT NULL").fetchall()
    finally:
        db.close()
    sc = Scalars()
    for i, f in enumerate(f for f in single if values[f]):
        longest = max(len(v.encode("utf-8")) for v in values[f])
        if longest <= MAX_VALUE_BYTES and "" not in values[f]:
            sc.fields[f] = f"a{i}"
            sc.max_bytes[f] = max(1, longest)
    price = None
    if prices and all(p >= 0 and math.isfinite(p) for _, p in prices):
        price = np.full(n_docs, NO_PRICE, np.float64)
        docs, vals = zip(*prices)
        price[np.asarray(docs, np.int64)] = np.asarray(vals, np.float64)
        sc.price = True
    return ScalarColumns(sc, codes, values, price)


def _literal(value: str) -> str | None:
    if any(c in value for c in '"\\') or any(ord(c) < 32 for c in value):
        return None
    return f'"{value}"'


def expression(filters: dict[str, Any], scalars: Scalars) -> str | None:
    """The Milvus boolean expression for `filters` over the scalar fields, or None when it cannot be one."""
    parts = []
    for attr, want in filters.items():
        values = list(want) if isinstance(want, (list, tuple, set)) else [want]
        if not values:
            return None
        alts = []
        for v in values:
            s = str(v).strip()
            op = next((o for o in NUMERIC_OPS if s.startswith(o) and o != "="), None)
            if attr == "price" or op:
                if attr != "price" or not scalars.price:
                    return None  # numeric comparisons on attributes: the product table casts, Milvus cannot
                op = op or "="
                try:
                    num = float(s[len(op) :] if s.startswith(op) else s)
                except ValueError:
                    return None
                if not math.isfinite(num):
                    return None
                alts.append(f"(price >= 0 and price {_MILVUS_OP[op]} {num!r})")
            else:
                name, lit = scalars.fields.get(attr), _literal(s.lower())
                if name is None or lit is None or not s:
                    return None
                alts.append(f"{name} == {lit}")
        parts.append(alts[0] if len(alts) == 1 else "(" + " or ".join(alts) + ")")
    return " and ".join(parts) if parts else None

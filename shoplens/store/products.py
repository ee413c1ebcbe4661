"""Products and attributes in SQLite: the source of truth for titles, filters and facets."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import QueryError
from ..records import Product
from .filters import FilterMask

NUMERIC_OPS = ("<=", ">=", "!=", "<", ">", "=")


class ProductTable:
    """Doc numbers are row positions 0..n-1 in build order; every index refers to products by doc."""

    def __init__(self, path: Path, readonly: bool = True):
        self.path = path
        uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        if not readonly:
            self.db.executescript("""
                CREATE TABLE IF NOT EXISTS products (doc INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,
                    hash TEXT NOT NULL, title TEXT, price REAL, data TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS attributes (doc INTEGER NOT NULL, field TEXT NOT NULL,
                    value TEXT NOT NULL, value_lc TEXT NOT NULL);
            """)
        self._ids: list[str] | None = None
        self._columns: dict[str, tuple[np.ndarray, dict[str, int]]] = {}
        self._columns_lock = threading.Lock()

    @classmethod
    def create(cls, path: Path, products: Sequence[Product], derived: Sequence[dict[str, str]]) -> ProductTable:
        """Write all products; `derived` adds computed attributes (e.g. type from title) per product."""
        t = cls(path, readonly=False)
        t.db.executemany(
            "INSERT INTO products VALUES (?,?,?,?,?,?)",
            (
                (doc, p.id, p.content_hash(), p.title, p.price, json.dumps(p.to_json(), ensure_ascii=False))
                for doc, p in enumerate(products)
            ),
        )
        rows = []
        for doc, (p, extra) in enumerate(zip(products, derived)):
            for k, v in {**extra, **p.attributes}.items():
                rows.append((doc, k, v, v.lower()))
        t.db.executemany("INSERT INTO attributes VALUES (?,?,?,?)", rows)
        t.db.execute("CREATE INDEX attr_fv ON attributes (field, value_lc)")
        t.db.execute("CREATE INDEX attr_doc ON attributes (doc, field, value_lc)")
        t.db.commit()
        return t

    def close(self) -> None:
        self.db.close()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM products").fetchone()[0]

    @property
    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = [r[0] for r in self.db.execute("SELECT id FROM products ORDER BY doc")]
        return self._ids

    def doc_of(self, pid: str) -> int | None:
        r = self.db.execute("SELECT doc FROM products WHERE id=?", (pid,)).fetchone()
        return r[0] if r else None

    def titles(self, docs: Iterable[int]) -> dict[int, str | None]:
        docs = list(docs)
        q = f"SELECT doc, title FROM products WHERE doc IN ({','.join('?' * len(docs))})"
        return dict(self.db.execute(q, docs)) if docs else {}

    def get(self, docs: Iterable[int]) -> dict[int, Product]:
        docs = list(docs)
        if not docs:
            return {}
        q = f"SELECT doc, data FROM products WHERE doc IN ({','.join('?' * len(docs))})"
        return {d: Product.from_json(json.loads(s)) for d, s in self.db.execute(q, docs)}

    def all_products(self) -> list[Product]:
        return [Product.from_json(json.loads(s)) for (s,) in self.db.execute("SELECT data FROM products ORDER BY doc")]

    def hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, hash FROM products"))

    def attribute_values(self, max_values: int = 10_000) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for f, v in self.db.execute("SELECT DISTINCT field, value FROM attributes LIMIT ?", (max_values,)):
            out.setdefault(f, set()).add(v)
        return out

    def attribute_matrix(self, field: str, docs: Sequence[int]) -> list[str | None]:
        if not docs:
            return []
        # Probe by doc: the (field, value) index would scan every row of the field (277 ms at 100k).
        q = (
            f"SELECT doc, value_lc FROM attributes INDEXED BY attr_doc "
            f"WHERE doc IN ({','.join('?' * len(docs))}) AND field=?"
        )
        got = dict(self.db.execute(q, [*docs, field]))
        return [got.get(d) for d in docs]

    def attribute_column(self, field: str) -> tuple[np.ndarray, dict[str, int]]:
        """(code per doc, lower-cased value -> code) of one field, -1 where a doc has none; read
        once per opened generation (they are immutable), so a query's attribute boost compares
        integers in memory instead of probing SQLite for each candidate (3 ms per query at 7.7k).
        A product has at most one value per field (its attributes are a mapping)."""
        got = self._columns.get(field)
        if got is not None:
            return got
        with self._columns_lock:
            got = self._columns.get(field)
            if got is None:
                rows = self.db.execute("SELECT doc, value_lc FROM attributes WHERE field=?", (field,)).fetchall()
                vocab: dict[str, int] = {}
                codes = np.full(len(self.ids), -1, np.int32)
                if rows:
                    docs = np.fromiter((d for d, _ in rows), np.int64, len(rows))
                    codes[docs] = np.fromiter((vocab.setdefault(v, len(vocab)) for _, v in rows), np.int32, len(rows))
                got = self._columns[field] = (codes, vocab)
            return got

    def filter_mask(self, filters: dict[str, object]) -> np.ndarray:
        """Boolean mask over docs. Values: a string (case-insensitive equality), a list (any of),
        or for price/numeric attributes a string with an operator ("<=100")."""
        n = len(self)
        mask = np.ones(n, dtype=bool)
        for field, want in filters.items():
            sub = np.zeros(n, dtype=bool)
            values = want if isinstance(want, (list, tuple, set)) else [want]
            for v in values:
                sub |= self._one_filter(field, v, n)
            mask &= sub
        return FilterMask.of(mask, filters)  # a backend holding the attributes may filter by them itself

    def _one_filter(self, field: str, value: object, n: int) -> np.ndarray:
        m = np.zeros(n, dtype=bool)
        sval = str(value).strip()
        op = next((o for o in NUMERIC_OPS if sval.startswith(o) and o != "="), None)
        if field == "price" or op:
            op = op or "="
            try:
                num = float(sval[len(op) :] if sval.startswith(op) else sval)
            except ValueError:
                raise QueryError(f"filter {field}{sval}: expected a number after the operator") from None
            sql_op = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[op]
            if field == "price":
                q = f"SELECT doc FROM products WHERE price {sql_op} ?"
                docs = [r[0] for r in self.db.execute(q, (num,))]
            else:
                q = f"SELECT doc FROM attributes WHERE field=? AND CAST(value AS REAL) {sql_op} ?"
                docs = [r[0] for r in self.db.execute(q, (field, num))]
        else:
            docs = [
                r[0]
                for r in self.db.execute(
                    "SELECT doc FROM attributes WHERE field=? AND value_lc=?", (field, sval.lower())
                )
            ]
        m[np.asarray(docs, dtype=np.int64)] = True
        return m

    def facets(
        self, docs: Sequence[int], fields: Sequence[str] | None = None, top: int = 20
    ) -> dict[str, dict[str, int]]:
        if not docs:
            return {}
        q = f"SELECT field, value FROM attributes WHERE doc IN ({','.join('?' * len(docs))})"
        counts: dict[str, Counter] = {}
        for f, v in self.db.execute(q, list(docs)):
            if fields is None or f in fields:
                counts.setdefault(f, Counter())[v] += 1
        return {f: dict(c.most_common(top)) for f, c in sorted(counts.items())}

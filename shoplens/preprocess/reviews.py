"""Customer reviews from a separate file (`shoplens index CATALOG --reviews FILE`), attached to products.

A shop's reviews usually live in another export than its catalog: CSV or JSONL rows of
`product_id, text, rating, date`. A row for an id the catalog does not have is reported (file,
row) and skipped, never fatal: the catalog may simply be a subset of the shop.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..catalog import review_item
from ..errors import CatalogError
from ..jsonlines import iter_objects
from ..records import IngestIssue, Product

ID_COLUMNS = ("product_id", "id")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            names = reader.fieldnames or []
            if not any(c in names for c in ID_COLUMNS) or "text" not in names:
                raise CatalogError(f"{path}: a reviews file needs 'product_id' and 'text' columns (got {names})")
            for i, row in enumerate(reader, start=1):
                yield i, row, None
    elif suffix in (".jsonl", ".ndjson", ".json"):
        with open(path, encoding="utf-8") as f:
            yield from iter_objects(f)
    else:
        raise CatalogError(f"{path}: unknown reviews format '{suffix}' (use .csv, .tsv or .jsonl)")


def load_reviews(path: str | Path) -> tuple[dict[str, list[tuple[str, float | None]]], list[IngestIssue]]:
    """product id -> [(text, rating or None)] in file order, and the rows that were skipped."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"reviews file not found: {path}")
    out: dict[str, list[tuple[str, float | None]]] = {}
    issues: list[IngestIssue] = []
    for row, raw, err in _rows(path):
        if err is not None or raw is None:
            issues.append(IngestIssue(str(path), row, None, err or "empty row"))
            continue
        pid = next((raw[c] for c in ID_COLUMNS if raw.get(c) not in (None, "")), None)
        if pid is None:
            issues.append(IngestIssue(str(path), row, "product_id", "missing product id"))
            continue
        pid = str(int(pid)) if isinstance(pid, float) and pid.is_integer() else str(pid).strip()
        try:
            text, rating = review_item({"text": raw.get("text"), "rating": raw.get("rating")})
        except ValueError as e:
            issues.append(IngestIssue(str(path), row, "text" if "text" in str(e) else "rating", str(e), pid))
            continue
        if rating is not None and not rating >= 0:
            issues.append(IngestIssue(str(path), row, "rating", f"rating {rating} is negative; kept unrated", pid))
            rating = None
        out.setdefault(pid, []).append((text, rating))
    return out, issues


def attach_reviews(
    products: Sequence[Product], reviews: dict[str, list[tuple[str, float | None]]], file: str
) -> tuple[list[Product], list[IngestIssue]]:
    """Products with the file's reviews appended to the catalog's own; ids the catalog lacks are reported."""
    known = {p.id for p in products}
    issues = [
        IngestIssue(
            file, None, "product_id", f"no product with this id in the catalog; {len(r)} review(s) skipped", pid
        )
        for pid, r in reviews.items()
        if pid not in known
    ]
    out = []
    for p in products:
        extra = reviews.get(p.id)
        if not extra:
            out.append(p)
            continue
        old = list(p.review_ratings) if p.review_ratings else [None] * len(p.reviews)
        ratings = old + [r for _, r in extra]
        out.append(
            dataclasses.replace(
                p,
                reviews=p.reviews + tuple(t for t, _ in extra),
                review_ratings=tuple(ratings) if any(r is not None for r in ratings) else (),
            )
        )
    return out, issues

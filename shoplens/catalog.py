"""Catalog ingest: CSV / JSONL / Parquet rows -> validated `Product` records.

Validation never aborts on one bad row: the row (or just the bad field) is
skipped and reported with file, row and field, so a shop with a few broken
rows still gets the rest indexed. Only an unreadable file is fatal.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import CatalogError  # noqa: F401  (re-exported)
from .jsonlines import iter_objects
from .records import IngestIssue, IngestReport, Product

log = logging.getLogger(__name__)

KNOWN = {"id", "title", "description", "image", "images", "video", "videos", "reviews", "review", "price"}
# Common alternative column names, so real exports load without renaming.
ALIASES = {
    "productDisplayName": "title",
    "name": "title",
    "product_name": "title",
    "image_path": "image",
    "image_url": "image",
    "desc": "description",
}
MAX_FIELD_CHARS = 100_000


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (1-based data row, row dict or None, parse error)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            if not reader.fieldnames or "id" not in reader.fieldnames:
                raise CatalogError(f"{path}: header has no 'id' column (got {reader.fieldnames})")
            for i, row in enumerate(reader, start=1):
                if None in row:  # more cells than header columns
                    yield i, None, f"{len(row[None])} more cells than the header has columns"
                    continue
                yield i, row, None
    elif suffix in (".jsonl", ".ndjson", ".json"):
        with open(path, encoding="utf-8") as f:
            yield from iter_objects(f)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise CatalogError(f"{path}: cannot read Parquet: {e}") from e
        if "id" not in table.column_names:
            raise CatalogError(f"{path}: no 'id' column (got {table.column_names})")
        for i, row in enumerate(table.to_pylist(), start=1):
            yield i, row, None
    else:
        raise CatalogError(f"{path}: unknown catalog format '{suffix}' (use .csv, .tsv, .jsonl or .parquet)")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _as_list(v: Any) -> list[Any]:
    if _blank(v):
        return []
    if isinstance(v, (list, tuple)):
        return [x for x in v if not _blank(x)]
    if isinstance(v, str) and v.strip().startswith("["):
        try:
            parsed = json.loads(v)
            if isinstance(parsed, list):
                return [x for x in parsed if not _blank(x)]
        except json.JSONDecodeError:
            pass
    return [v]


def _text(v: Any, field: str) -> str:
    if not isinstance(v, (str, int, float)):
        raise ValueError(f"expected text, got {type(v).__name__}")
    s = str(v).strip()
    if len(s) > MAX_FIELD_CHARS:
        raise ValueError(f"{len(s)} characters, more than the {MAX_FIELD_CHARS} allowed")
    return s


def review_item(v: Any) -> tuple[str, float | None]:
    """One review: a string, or an object {text, rating, date} (date accepted, not used)."""
    if isinstance(v, dict):
        if _blank(v.get("text")):
            raise ValueError("a review object needs a 'text' (got keys " + ", ".join(map(str, v)) + ")")
        rating: Any = v.get("rating")
        if _blank(rating):
            return _text(v["text"], "text"), None
        try:
            return _text(v["text"], "text"), float(rating)
        except (TypeError, ValueError):
            raise ValueError(f"rating {rating!r} is not a number") from None
    return _text(v, "review"), None


def _resolve(path_value: Any, base: Path) -> str:
    if not isinstance(path_value, str):
        raise ValueError(f"expected a path string, got {type(path_value).__name__}")
    p = Path(path_value.strip()).expanduser()
    if not p.is_absolute():
        p = base / p
    return str(p.resolve())


def _product(raw: dict[str, Any], base: Path, where: tuple[str, int], issues: list[IngestIssue]) -> Product:
    """Build one Product; field-level problems drop that field and are appended to `issues`."""
    file, row = where
    data = {ALIASES.get(k, k): v for k, v in raw.items() if k is not None}
    pid_raw = data.get("id")
    if _blank(pid_raw) or isinstance(pid_raw, (list, dict, bool)):
        raise ValueError("missing or invalid 'id'")
    pid = str(int(pid_raw)) if isinstance(pid_raw, float) and pid_raw.is_integer() else str(pid_raw).strip()

    def field_issue(field: str, msg: str) -> None:
        issues.append(IngestIssue(file, row, field, msg, pid))

    out: dict[str, Any] = {}
    for key in ("title", "description"):
        if not _blank(data.get(key)):
            try:
                out[key] = _text(data[key], key)
            except ValueError as e:
                field_issue(key, str(e))
    price = data.get("price")
    if not _blank(price):
        try:
            out["price"] = float(str(price).replace(",", "").lstrip("$€£¥"))
            if not math.isfinite(out["price"]) or out["price"] < 0:
                raise ValueError
        except ValueError:
            out.pop("price", None)
            field_issue("price", f"not a non-negative number: {price!r}")
    media: dict[str, list[str]] = {}
    for key, names in (("images", ("image", "images")), ("videos", ("video", "videos"))):
        paths: list[str] = []
        for name in names:
            for v in _as_list(data.get(name)):
                try:
                    p = _resolve(v, base)
                except ValueError as e:
                    field_issue(name, str(e))
                    continue
                if not Path(p).is_file():
                    field_issue(name, f"file not found: {p}")
                    continue
                paths.append(p)
        media[key] = paths
    reviews: list[str] = []
    ratings: list[float | None] = []
    for name in ("reviews", "review"):
        for v in _as_list(data.get(name)):
            try:
                text, rating = review_item(v)
            except ValueError as e:
                field_issue(name, str(e))
                continue
            if rating is not None and not (math.isfinite(rating) and rating >= 0):
                field_issue(name, f"rating {rating!r} is not a non-negative number; review kept without it")
                rating = None
            reviews.append(text)
            ratings.append(rating)
    attributes: dict[str, str] = {}
    for k, v in data.items():
        if k in KNOWN or _blank(v):
            continue
        if isinstance(v, (dict, list)):
            field_issue(k, f"attribute values must be scalar, got {type(v).__name__}")
            continue
        attributes[str(k)] = str(v).strip()
    return Product(
        id=pid,
        title=out.get("title"),
        description=out.get("description"),
        images=tuple(media["images"]),
        videos=tuple(media["videos"]),
        reviews=tuple(reviews),
        price=out.get("price"),
        attributes=attributes,
        review_ratings=tuple(ratings) if any(r is not None for r in ratings) else (),
    )


def load_catalog(path: str | Path, limit: int | None = None) -> tuple[list[Product], IngestReport]:
    """Read a catalog file; returns the kept products (duplicate ids: last wins) and a report."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"catalog not found: {path}")
    report = IngestReport(file=str(path))
    base = path.parent.resolve()
    by_id: dict[str, tuple[int, Product]] = {}
    for row_no, raw, err in _rows(path):
        report.rows_read += 1
        if err is not None or raw is None:
            report.rows_skipped.append(IngestIssue(str(path), row_no, None, err or "empty row"))
            continue
        try:
            product = _product(raw, base, (str(path), row_no), report.field_issues)
        except ValueError as e:
            report.rows_skipped.append(IngestIssue(str(path), row_no, "id", str(e)))
            continue
        if product.id in by_id:
            report.duplicates.append(
                IngestIssue(str(path), row_no, "id", f"duplicate id, replaces row {by_id[product.id][0]}", product.id)
            )
            del by_id[product.id]  # re-insert so order follows the winning row
        by_id[product.id] = (row_no, product)
        if limit is not None and len(by_id) >= limit:
            break
    products = [p for _, p in by_id.values()]
    report.products = len(products)
    return products, report


# Issues of one kind are logged one by one as warnings (file, row, field); past this many the rest
# go to debug (`shoplens -v`), so a catalog with thousands of bad rows keeps a readable log.
WARN_EACH = 20


def log_issues(what: str, issues: Sequence[IngestIssue]) -> None:
    for n, issue in enumerate(issues):
        log.log(logging.WARNING if n < WARN_EACH else logging.DEBUG, "%s: %s", what, issue)
    if len(issues) > WARN_EACH:
        log.warning("%s: %d more not shown (shoplens -v shows them all)", what, len(issues) - WARN_EACH)


def log_report(report: IngestReport) -> None:
    """A summary line (info) and every skipped row, dropped field and duplicate id (warnings)."""
    log.info(
        "%s: %d rows read, %d products kept (%d rows skipped, %d fields dropped, %d duplicate ids)",
        report.file,
        report.rows_read,
        report.products,
        len(report.rows_skipped),
        len(report.field_issues),
        len(report.duplicates),
    )
    log_issues("row skipped", report.rows_skipped)
    log_issues("field dropped (row kept)", report.field_issues)
    log_issues("duplicate id (last one wins)", report.duplicates)

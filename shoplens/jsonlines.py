"""JSON-lines records, read the same way everywhere (catalogs, click logs, query sets, batch search).

Callers differ only in what they do with a bad line (a catalog reports it and goes on, an
evaluation file stops), so the parsing and its wording live here once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def parse_object(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None) for a line holding a JSON object, else (None, why not)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"invalid JSON: {e.msg} (column {e.colno})"
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, got {type(obj).__name__}"
    return obj, None


def iter_objects(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(1-based line number, object or None, error or None) for every non-blank line."""
    for no, line in enumerate(lines, start=1):
        if line.strip():
            yield (no, *parse_object(line))

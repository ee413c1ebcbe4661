"""Query records and parsing of user-facing filter syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import QueryError  # noqa: F401  (re-exported)

MAX_QUERY_CHARS = 1000


@dataclass
class Query:
    text: str | None = None
    image: str | bytes | None = None  # path or raw bytes
    k: int = 10
    filters: dict[str, Any] = field(default_factory=dict)
    facets: list[str] | bool | None = None  # True = all attribute fields
    strict_attributes: bool = False  # understood attributes become filters
    weights: dict[str, float] | None = None
    user: str | None = None  # shopper id: personalisation and the feedback log
    session: str | None = None

    def validate(self) -> Query:
        for name in ("user", "session"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, str) or not v.strip() or len(v) > 200):
                raise QueryError(f"{name} must be a non-empty string of at most 200 characters, got {v!r}")
        if self.text is not None and not isinstance(self.text, str):
            raise QueryError(f"text must be a string, got {type(self.text).__name__}")
        if self.text is not None:
            self.text = self.text.strip() or None
        if self.text and len(self.text) > MAX_QUERY_CHARS:
            raise QueryError(f"text is {len(self.text)} characters; the limit is {MAX_QUERY_CHARS}")
        if self.image is not None and not isinstance(self.image, (str, bytes, Path)):
            raise QueryError(f"image must be a path or bytes, got {type(self.image).__name__}")
        if self.text is None and self.image is None:
            raise QueryError("a query needs text, an image, or both")
        if not isinstance(self.k, int) or isinstance(self.k, bool) or not 1 <= self.k <= 1000:
            raise QueryError(f"k must be an integer between 1 and 1000, got {self.k!r}")
        if not isinstance(self.filters, dict):
            raise QueryError(f"filters must be an object of field: value, got {type(self.filters).__name__}")
        if self.weights is not None:
            self.weights = check_weights(self.weights, "weights")
        return self

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"k": self.k}
        if self.text is not None:
            d["text"] = self.text
        if self.image is not None:
            d["image"] = str(self.image) if not isinstance(self.image, bytes) else f"<{len(self.image)} bytes>"
        if self.filters:
            d["filters"] = self.filters
        return d

    @classmethod
    def from_json(cls, obj: Any, k: int = 10, where: str = "query") -> Query:
        """From a batch line: {"text":..., "image":..., "filters": {...}, "k": ...}."""
        if not isinstance(obj, dict):
            raise QueryError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        known = {"text", "image", "filters", "k", "qid", "id", "lang", "facets", "strict_attributes", "user", "session"}
        unknown = set(obj) - known
        if unknown:
            raise QueryError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            return cls(
                text=obj.get("text"),
                image=obj.get("image"),
                k=obj.get("k", k),
                filters=obj.get("filters") or {},
                facets=obj.get("facets"),
                strict_attributes=bool(obj.get("strict_attributes", False)),
                user=obj.get("user"),
                session=obj.get("session"),
            ).validate()
        except QueryError as e:
            raise QueryError(f"{where}: {e}") from None


_FILTER = re.compile(r"^\s*([^<>=!]+?)\s*(<=|>=|!=|<|>|=)\s*(.*?)\s*$")


def check_weights(weights: Any, where: str) -> dict[str, float]:
    """Fusion weights from a user (CLI flag, batch line, HTTP parameter): component name -> number >= 0."""
    bad = not isinstance(weights, dict) or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in weights.values()
    )
    if bad:
        raise QueryError(f"{where} {weights!r}: expected an object of component name -> number >= 0")
    return {str(k): float(v) for k, v in weights.items()}


def parse_filters(items: list[str] | None) -> dict[str, Any]:
    """CLI `--filter FIELD=VALUE` (repeatable; same field twice = either value; `price<=50` works too).

    Every item must parse: a malformed one is an error, never silently dropped, since a dropped
    filter widens the results without telling the user. Comparison operators need a number here,
    so `colour!=Red` fails now rather than later, deep inside the search."""
    out: dict[str, Any] = {}
    for item in items or []:
        m = _FILTER.match(item)
        if not m or not m.group(3):
            raise QueryError(f"--filter {item!r}: expected FIELD=VALUE (or FIELD<=NUMBER, >=, <, >, !=)")
        field, op, value = m.groups()
        if op != "=":
            try:
                float(value)
            except ValueError:
                raise QueryError(
                    f"--filter {item!r}: {op} compares numbers and {value!r} is not one; use FIELD=VALUE for text"
                ) from None
            value = op + value
        if field in out:
            prev = out[field] if isinstance(out[field], list) else [out[field]]
            out[field] = prev + [value]
        else:
            out[field] = value
    return out

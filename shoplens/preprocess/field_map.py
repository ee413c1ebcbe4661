"""Which catalog column holds which lexicon field ("baseColour" holds colours).

Pure lexicon logic over a catalog's attribute values, so it sits in
preprocess: the store builder records the map in the manifest, and query
understanding and alignment read it from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from . import lexicon

__all__ = ["DERIVED_TYPE_COLUMN", "infer_field_map"]

# The store derives a "type" attribute from titles (Lexicon.product_type) unless the catalog
# has a column of that name; lexicon field "type" always maps to it.
DERIVED_TYPE_COLUMN = "type"


def infer_field_map(
    attribute_values: Mapping[str, Iterable[str]],
    min_overlap: int = 2,
    min_fraction: float = 0.3,
    lex: lexicon.Lexicon | None = None,
) -> dict[str, str]:
    """Map lexicon fields to a catalog's own columns by value overlap.

    A column is taken for a field when at least `min_overlap` of its distinct
    values are lexicon values of that field and they make up at least
    `min_fraction` of the column's values ("baseColour" -> colour). Lexicon
    field "type" always maps to the derived column "type" (from titles).
    Each column serves at most one field.
    """
    known_values: dict[str, set[str]] = {}
    for term in (lex or lexicon.default_lexicon()).terms:
        known_values.setdefault(term.field, set()).add(term.value.lower())
    scored: list[tuple[float, int, str, str]] = []
    for col, values in attribute_values.items():
        if col == DERIVED_TYPE_COLUMN:
            continue
        vals = {str(v).strip().lower() for v in values if v not in (None, "")}
        if not vals:
            continue
        for fld, known in known_values.items():
            if fld == "type":
                continue
            hit = len(vals & known)
            frac = hit / len(vals)
            if hit >= min_overlap and frac >= min_fraction:
                scored.append((frac, hit, fld, col))
    out: dict[str, str] = {}
    used: set[str] = set()
    for _frac, _hit, fld, col in sorted(scored, key=lambda s: (-s[0], -s[1], s[2], s[3])):
        if fld in out or col in used:
            continue
        out[fld] = col
        used.add(col)
    out["type"] = DERIVED_TYPE_COLUMN
    return out

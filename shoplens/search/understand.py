"""Query understanding: which catalog attributes a shopper's words ask for.

"男士 黑色 运动鞋", "black shoes for men" and "mens black sneakers" all parse to
gender=Men, colour=Black, type=shoes. Search uses the parsed attributes as a
soft boost (and as filters when the shopper asks for strict matching), the
English wording lets English-only components serve Chinese queries, and
`to_dict()` is what `explain` shows.

Parsing is the lexicon's (`preprocess.lexicon.Lexicon.parse`: English n-grams, Chinese
segmented by jieba and accepted only where a token is covered entirely by lexicon forms);
the store's lexicon, shop extensions included, is passed in. Traditional Chinese is read as
Simplified first, so 黑色運動鞋 is understood exactly like 黑色运动鞋.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shoplens.preprocess import lexicon
from shoplens.preprocess.field_map import DERIVED_TYPE_COLUMN, infer_field_map  # noqa: F401  (re-exported)
from shoplens.preprocess.lexicon import Lexicon
from shoplens.preprocess.segment import to_simplified

__all__ = ["Understanding", "AttributeMatch", "understand", "infer_field_map", "DERIVED_TYPE_COLUMN"]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class AttributeMatch:
    field: str  # lexicon field: gender | colour | type | usage | season
    value: str  # canonical value (the catalog's own wording, e.g. "Navy Blue")
    surface: str  # what the shopper typed
    start: int  # character span in the query
    end: int
    lang: str  # "en" | "zh"
    column: str | None  # catalog column it maps to (None: the catalog has no such column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "surface": self.surface,
            "span": [self.start, self.end],
            "lang": self.lang,
            "column": self.column,
        }


@dataclass
class Understanding:
    query: str
    lang: str  # "en" | "zh" | "mixed" | "other"
    attributes: dict[str, str] = field(default_factory=dict)  # catalog column -> value
    matches: list[AttributeMatch] = field(default_factory=list)
    english: str = ""  # query with Chinese lexicon terms in English
    residual: str = ""  # words not explained by any attribute

    @property
    def fields(self) -> dict[str, str]:
        """Lexicon field -> value (first match per field; last one for "type")."""
        return _pick(self.matches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "lang": self.lang,
            "attributes": dict(self.attributes),
            "english": self.english,
            "residual": self.residual,
            "matches": [m.to_dict() for m in self.matches],
        }


def _pick(matches: Iterable[lexicon.Match | AttributeMatch]) -> dict[str, str]:
    """One value per field: the first gender/colour/..., the LAST product type
    ("shoe socks" are socks; "运动 T恤" is a T-shirt)."""
    out: dict[str, str] = {}
    for m in matches:
        if m.field == "type" or m.field not in out:
            out[m.field] = m.value
    return out


def _lang(text: str) -> str:
    zh, en = bool(_CJK.search(text)), bool(_LATIN.search(text))
    return "mixed" if zh and en else "zh" if zh else "en" if en else "other"


def _read(text: str, lex: Lexicon) -> tuple[list[lexicon.Match], str]:
    """Lexicon matches and the text their spans index: the shopper's own characters, unless
    reading Traditional as Simplified changed the length (then the Simplified text)."""
    simple = to_simplified(text)
    if simple == text:
        return lex.parse(text), text
    raw = lex.parse(simple)
    if len(simple) != len(text):
        return raw, simple
    return [lexicon.Match(m.field, m.value, text[m.start : m.end], m.start, m.end, m.lang) for m in raw], text


def understand(text: str, field_map: dict[str, str] | None = None, lex: Lexicon | None = None) -> Understanding:
    """Parse gender / colour / type / usage / season (and a shop's own fields) out of an EN or ZH query.

    `field_map` maps lexicon fields to the catalog's columns (see
    `infer_field_map`); fields the catalog lacks are still reported in
    `matches` (column=None) but not in `attributes`. `lex`: the store's
    lexicon (default: the shipped one).
    """
    query = text or ""
    lex = lex or lexicon.default_lexicon()
    field_map = dict(field_map or {})
    raw, text = _read(query, lex)
    matches = [AttributeMatch(m.field, m.value, m.surface, m.start, m.end, m.lang, field_map.get(m.field)) for m in raw]
    chosen = _pick(raw)
    attributes = {field_map[f]: v for f, v in chosen.items() if f in field_map}

    # English wording: Chinese lexicon terms replaced by their English wording.
    parts, last, resid, rlast = [], 0, [], 0
    for m in raw:
        resid.append(text[rlast : m.start])
        rlast = m.end
        if m.lang == "zh":
            parts.append(text[last : m.start])
            parts.append(" " + lex.wording(m.field, m.value, "en") + " ")
            last = m.end
    parts.append(text[last:])
    resid.append(text[rlast:])
    english = re.sub(r"\s+", " ", "".join(parts)).strip()
    residual = re.sub(r"\s+", " ", " ".join(resid)).strip()
    return Understanding(
        query=query, lang=_lang(query), attributes=attributes, matches=matches, english=english, residual=residual
    )

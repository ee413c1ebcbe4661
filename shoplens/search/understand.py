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

Free wordings ("looking for black shoes for my son", "适合男孩的黑色运动鞋") carry the same
attributes as the template ("boys black shoes"), wrapped in words that say nothing about the
product. When every word of a query is an attribute or such a filler, `normalized` is the
template wording of its attributes, which is what the retrievers encode: the fillers never reach
them as content, and "my son" reads as "boys".
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

__all__ = [
    "Understanding",
    "AttributeMatch",
    "understand",
    "infer_field_map",
    "DERIVED_TYPE_COLUMN",
    "FILLERS_EN",
    "FILLERS_ZH",
    "PRICE_FIELD",
]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")

# Words that carry no product meaning in a query ("looking for a ... for my ..."): they are not
# content the retrievers should match, nor unexplained words when measuring how much of a query
# the attributes explain.
FILLERS_EN = frozenset(
    "a an the for my me i im i'm looking look want need some any in of with to and or please show find get "
    "buy but this that these those like same similar one ones pair something our his gift gifts present "
    "would wanted searching search shopping got have has is are it its".split()
)
FILLERS_ZH = frozenset(
    "的 适合 给 我 想 要 买 找 一 件 双 条 个 款 请 帮 有 没有 这 那 这个 那个 同款 类似 一样 但 但是 用 "
    "我想 我要 想要 想买 帮我 推荐 一下 一些 一款 一件 一双 一条 有没有 求 穿 送 送给 礼物 "
    "能 可以 吗 呢 哪里 什么".split()
)
# Lexicon field of "cheaper" / "more expensive" (values "lower" / "higher").
PRICE_FIELD = "price"
# Field order of the template wording ("boys black shoes"), which the heads' captions use too.
_TEMPLATE_ORDER = ("gender", "colour", "type")


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
    # the template wording of the attributes when every other word is a filler and the query is
    # not already worded that way ("shoes in black for my son" -> "boys black shoes"); else ""
    normalized: str = ""

    @property
    def fields(self) -> dict[str, str]:
        """Lexicon field -> value (first match per field; last one for "type"); the price
        direction is not a product attribute and is left out (see `price`)."""
        return {f: v for f, v in _pick(self.matches).items() if f != PRICE_FIELD}

    @property
    def price(self) -> str | None:
        """ "lower" ("cheaper", "更便宜") or "higher" ("more expensive"): relative to the query
        photo's product; None when the words say nothing about price."""
        return _pick(self.matches).get(PRICE_FIELD)

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "lang": self.lang,
            "attributes": dict(self.attributes),
            "english": self.english,
            "residual": self.residual,
            "normalized": self.normalized,
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
    und = Understanding(
        query=query, lang=_lang(query), attributes=attributes, matches=matches, english=english, residual=residual
    )
    und.normalized = _normalized(text, raw, resid, lex)
    if und.normalized:
        # the English reading of the normalized wording (Chinese terms in English), for retrievers
        # that read English only
        und.english = _template(raw, lex, english=True)
    return und


def _content_words(piece: str, lex: Lexicon) -> list[str]:
    """Words of a stretch of query text that no attribute explains, fillers left out."""
    out = []
    for cjk, latin in re.findall(r"([\u3400-\u9fff\uf900-\ufaff]+)|([^\u3400-\u9fff\uf900-\ufaff]+)", piece):
        if cjk:
            out += [w for w in lex.segment(cjk) if w.strip() and w not in FILLERS_ZH]
        elif latin:
            out += [w for w in _WORD.findall(latin.lower()) if w not in FILLERS_EN]
    return out


def _template(raw: list[lexicon.Match], lex: Lexicon, english: bool) -> str:
    """Attributes in template order (gender colour type, then the rest as typed): the order the
    heads' captions were trained on. The gender in its preferred wording ("my son" -> "boys");
    the other attributes as the shopper typed them (皮鞋 stays leather shoes), or with
    `english` in their English wording."""
    last = {m.field: m for m in raw if m.field == "type"}
    first: dict[str, lexicon.Match] = {}
    for m in raw:
        if m.field != PRICE_FIELD:  # a price word moves the price; it is nothing to match
            first.setdefault(m.field, m)
    chosen = {**first, **last}
    order = [f for f in _TEMPLATE_ORDER if f in chosen] + [f for f in chosen if f not in _TEMPLATE_ORDER]
    words = []
    for f in order:
        m = chosen[f]
        if english or f == "gender":
            words.append(lex.wording(f, m.value, "en" if english else m.lang))
        else:
            words.append(m.surface)
    return " ".join(words)


def _normalized(text: str, raw: list[lexicon.Match], residual: list[str], lex: Lexicon) -> str:
    """The template wording when the query is attributes and fillers only (see the module
    docstring); "" when a word is left that no attribute explains, or the query is already
    worded as the template."""
    if not raw or any(_content_words(piece, lex) for piece in residual):
        return ""
    if len(_pick(raw)) < 2:
        return ""  # one attribute with a filler ("black one") is already as plain as it gets
    wording = _template(raw, lex, english=False)
    typed = re.sub(r"\s+", " ", text).strip()
    if re.sub(r"\s+", "", wording.lower()) == re.sub(r"\s+", "", typed.lower()):
        return ""
    dropped = any(piece.strip() for piece in residual) or any(m.field == PRICE_FIELD for m in raw)
    # Only a query that wrapped its attributes in fillers is reworded: "black sneakers for men"
    # (no filler: "for men" is one gender form) keeps its own words.
    return wording if dropped else ""

"""Query understanding: which catalog attributes a shopper's words ask for.

"男士 黑色 运动鞋", "black shoes for men" and "mens black sneakers" all parse to
gender=Men, colour=Black, type=shoes. Search uses the parsed attributes as a
soft boost (and as filters when the shopper asks for strict matching), the
English wording lets English-only components serve Chinese queries, and
`to_dict()` is what `explain` shows.

English is matched by the lexicon's longest-n-gram parser. Chinese is first
segmented with jieba (lexicon words added to its dictionary) and a lexicon
term is accepted only when a jieba token is covered *entirely* by lexicon
forms: "黑裙子" -> 黑 + 裙子 is accepted, while the 包 in "包邮" (free
shipping) or "面包" (bread) and the 男 in "男朋友" are not.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shoplens.preprocess import lexicon
from shoplens.preprocess.field_map import DERIVED_TYPE_COLUMN, infer_field_map  # noqa: F401  (re-exported)

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


# --------------------------------------------------------------------------- Chinese

_tok_lock = threading.Lock()
_tokenizer = None


def _zh_tokenizer():
    """A private jieba tokenizer with every lexicon word added (so 'T恤' stays whole)."""
    global _tokenizer
    if _tokenizer is None:
        with _tok_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                for term in lexicon.ALL_TERMS:
                    for w in term.zh:
                        if len(w) > 1:
                            tok.add_word(w, freq=200_000)
                tok.initialize()
                _tokenizer = tok
    return _tokenizer


def _zh_forms() -> dict[str, lexicon.Term]:
    forms: dict[str, lexicon.Term] = {}
    for term in lexicon.ALL_TERMS:
        for w in term.zh:
            forms.setdefault(w.lower(), term)
    return forms


_ZH_FORMS: dict[str, lexicon.Term] | None = None


def _cover(token: str) -> list[tuple[int, int, lexicon.Term]] | None:
    """Split `token` entirely into lexicon forms (fewest pieces), or None if impossible."""
    global _ZH_FORMS
    if _ZH_FORMS is None:
        _ZH_FORMS = _zh_forms()
    forms = _ZH_FORMS
    low = token.lower()
    n = len(low)
    best: list[list[tuple[int, int, lexicon.Term]] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(n, i, -1):
            term = forms.get(low[i:j])
            if term is not None:
                cand = best[i] + [(i, j, term)]
                if best[j] is None or len(cand) < len(best[j]):
                    best[j] = cand
    return best[n]


# Single characters that are attribute words only next to another attribute word:
# 粉 is also "powder", 金/银 "gold/silver metal", 包 "package", 春夏秋冬 are in many names.
_AMBIGUOUS_ZH = frozenset("粉金银包春夏秋冬")


def _zh_matches(text: str) -> list[lexicon.Match]:
    found: list[tuple[int, list[lexicon.Match]]] = []  # (token number, matches) per covered token
    pos = 0
    for k, tok in enumerate(_zh_tokenizer().cut(text, HMM=True)):
        start = text.find(tok, pos)
        if start < 0:
            start = pos
        pos = start + len(tok)
        if not tok.strip():
            continue
        if not _CJK.search(tok):
            found.append((k, []))
            continue
        pieces = _cover(tok)
        found.append(
            (
                k,
                [
                    lexicon.Match(term.field, term.value, text[start + i : start + j], start + i, start + j, "zh")
                    for i, j, term in (pieces or [])
                ],
            )
        )
    out: list[lexicon.Match] = []
    for n, (_k, ms) in enumerate(found):
        if len(ms) == 1 and ms[0].surface in _AMBIGUOUS_ZH:
            near = [found[x][1] for x in (n - 1, n + 1) if 0 <= x < len(found)]
            if not any(near):
                continue
        out.extend(ms)
    return out


# --------------------------------------------------------------------------- parsing


def _parse(text: str) -> list[lexicon.Match]:
    zh = _zh_matches(text) if _CJK.search(text) else []
    taken = [False] * len(text)
    for m in zh:
        for k in range(m.start, m.end):
            taken[k] = True
    en = [m for m in lexicon.parse(text) if m.lang == "en" and not any(taken[m.start : m.end])]
    return sorted(zh + en, key=lambda m: m.start)


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


def understand(text: str, field_map: dict[str, str] | None = None) -> Understanding:
    """Parse gender / colour / type / usage / season out of an EN or ZH query.

    `field_map` maps lexicon fields to the catalog's columns (see
    `infer_field_map`); fields the catalog lacks are still reported in
    `matches` (column=None) but not in `attributes`.
    """
    text = text or ""
    field_map = dict(field_map or {})
    raw = _parse(text)
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
            parts.append(" " + lexicon.wording(m.field, m.value, "en") + " ")
            last = m.end
    parts.append(text[last:])
    resid.append(text[rlast:])
    english = re.sub(r"\s+", " ", "".join(parts)).strip()
    residual = re.sub(r"\s+", " ", " ".join(resid)).strip()
    return Understanding(
        query=text, lang=_lang(text), attributes=attributes, matches=matches, english=english, residual=residual
    )

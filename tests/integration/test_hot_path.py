"""One encoding per model per query, and the hot path's settings never change a result."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from shoplens.search.hotpath import BlasThreads

pytestmark = pytest.mark.usefixtures("shared_data")


class Counting:
    """Counts the calls on a real encoder (the model still runs)."""

    def __init__(self, enc, counts: Counter):
        self._enc, self._counts = enc, counts

    def encode(self, items, *, mode="passage"):
        for text in items:
            self._counts[(self._enc.name, mode, text)] += 1
        return self._enc.encode(items, mode=mode)

    def __getattr__(self, name):
        return getattr(self._enc, name)


def _count_encodings(engine, text: str) -> Counter:
    """(model, mode) -> encodings of `text` during one uncached search."""
    engine.warm_up(images=False)  # the warm-up thread encodes too (other text), and shares the encoders
    qenc = engine.searcher.qenc
    counts: Counter = Counter()
    real = dict(qenc.text)
    qenc.text.update({n: Counting(e, counts) for n, e in real.items()})
    try:
        qenc._cache.clear()
        engine.search(text=text, k=10)
    finally:
        qenc.text.update(real)
    return Counter({(n, m): c for (n, m, t), c in counts.items() if t == text})


def _set(engine, concurrent: bool, blas: int) -> None:
    s = engine.searcher
    s.cfg = replace(s.cfg, concurrent_encoding=concurrent, blas_threads=blas)
    s.blas = BlasThreads(blas)


@pytest.mark.parametrize("text", ["men black casual shoes", "女士 白色 手提包"])
def test_hot_path_settings_give_the_same_page(small_engine, text):
    pages = []
    try:
        for concurrent, blas in ((False, 0), (True, 1), (True, 0)):
            _set(small_engine, concurrent, blas)
            small_engine.searcher.qenc._cache.clear()
            res = small_engine.search(text=text, k=10)
            pages.append([(h.id, round(h.score, 6)) for h in res.hits])
    finally:
        _set(small_engine, True, 1)
    assert pages[0], "the query found nothing: the comparison would be empty"
    assert pages[0] == pages[1] == pages[2]


def test_each_model_encodes_an_english_query_once_per_mode_its_readers_need(small_engine, heldout_store):
    from shoplens.engine import Engine

    # Shipped heads read e5 in passage mode: e5 runs in both modes, USE (symmetric) once.
    assert small_engine.heads is not None and small_engine.heads.text_mode == "passage"
    assert _count_encodings(small_engine, "women blue jeans") == Counter(
        {("e5", "query"): 1, ("e5", "passage"): 1, ("use", "query"): 1}
    )
    # Heads trained now read query mode (AlignConfig.text_mode): one encoding per model.
    with Engine.open(heldout_store[0]) as eng:
        assert eng.heads is not None and eng.heads.text_mode == "query"
        assert _count_encodings(eng, "women blue jeans") == Counter({("e5", "query"): 1, ("use", "query"): 1})

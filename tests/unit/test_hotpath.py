"""The query hot path's helpers: calls run side by side and come back by key; BLAS limited inside."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from shoplens.search.hotpath import BlasThreads, Concurrent


def test_concurrent_runs_calls_side_by_side_and_returns_by_key():
    pool = Concurrent(workers=3)
    barrier = threading.Barrier(3, timeout=10)  # only passes when three calls run at once
    names: dict[str, str] = {}

    def call(k):
        def fn():
            barrier.wait()
            names[k] = threading.current_thread().name
            return k * 2

        return fn

    try:
        out = pool.run({k: call(k) for k in ("a", "b", "c")})
    finally:
        pool.close()
    assert out == {"a": "aa", "b": "bb", "c": "cc"}
    assert len(set(names.values())) == 3
    assert names["a"] == threading.current_thread().name  # the first call runs in the caller's thread


def test_concurrent_off_runs_in_order_in_the_callers_thread():
    seen: list[str] = []
    out = Concurrent().run({k: (lambda k=k: seen.append(k) or k) for k in "xyz"}, concurrent=False)
    assert out == {"x": "x", "y": "y", "z": "z"} and seen == ["x", "y", "z"]


def test_concurrent_raises_a_calls_exception():
    pool = Concurrent()

    def bad():
        raise ValueError("boom")

    try:
        with pytest.raises(ValueError, match="boom"):
            pool.run({"ok": lambda: 1, "bad": bad})
    finally:
        pool.close()


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_limit_holds_inside_and_restores_after():
    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded
    before = _blas_threads()
    assert before, "numpy's BLAS not found by threadpoolctl"
    with BlasThreads(1).limit():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
    with BlasThreads(0).limit():  # 0: leave it alone
        assert _blas_threads() == before

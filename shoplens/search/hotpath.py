"""What keeps one query fast on a few busy cores: each text model encodes the query once, the
models side by side, and numpy's BLAS stays on one thread for the query's small matrices.

Measured in benchmarks/bench_latency.py (before/after in one run): the query's matrices are a few
hundred rows at most, so a second BLAS thread only adds hand-offs between busy cores.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

K = TypeVar("K")


class BlasThreads:
    """Limits numpy's BLAS to `n` threads inside `with limit():` (n = 0: no limit). The controller
    scans the loaded libraries once, at first use, not on every query."""

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self._ctl: Any = None
        self._lock = threading.Lock()

    def limit(self) -> contextlib.AbstractContextManager[Any]:
        if self.n <= 0:
            return contextlib.nullcontext()
        with self._lock:
            if self._ctl is None:
                from threadpoolctl import ThreadpoolController

                self._ctl = ThreadpoolController()
        return self._ctl.limit(limits=self.n, user_api="blas")


class Concurrent:
    """A small thread pool, started on first use, that runs independent calls side by side."""

    def __init__(self, workers: int = 3) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, calls: Mapping[K, Callable[[], Any]], concurrent: bool = True) -> dict[K, Any]:
        """Each call's result by key; in this thread when there is only one call (or `concurrent` is off),
        else the first call here and the rest in the pool. An exception in any call is raised here."""
        items = list(calls.items())
        if len(items) < 2 or not concurrent:
            return {k: fn() for k, fn in items}
        futures = {k: self._executor().submit(fn) for k, fn in items[1:]}
        k0, fn0 = items[0]
        out = {k0: fn0()}
        out.update({k: f.result() for k, f in futures.items()})
        return out

    def submit(self, calls: Mapping[K, Callable[[], Any]]) -> dict[K, Future]:
        """Start every call in the pool now; the caller collects the futures when it needs them."""
        return {k: self._executor().submit(fn) for k, fn in calls.items()}

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="shoplens-query")
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None

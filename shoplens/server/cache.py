"""In-process LRU of rendered result pages.

The key holds everything that changes a page (see `routes_search.cache_key`) plus the store
generation and the ranker's fingerprint, so a reindex or a retrained ranker can never serve a
stale page even before `clear()` runs on the swap. Text query vectors have their own LRU inside
the engine (`QueryEncoder`); photo queries are covered here, keyed by the photo's hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class ResultCache:
    def __init__(self, size: int):
        self.size = max(0, int(size))
        self._d: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> Any | None:
        if not self.size:
            return None
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                self.hits += 1
                return self._d[key]
            self.misses += 1
            return None

    def put(self, key: tuple, value: Any) -> None:
        if not self.size:
            return
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()

    def __len__(self) -> int:
        return len(self._d)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

"""What every route shares: the live engine, the result cache, metrics, settings, admin jobs, and
the one way routes call the engine (off the event loop, with a timeout)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..engine import Engine
from .cache import ResultCache
from .live import LiveEngine
from .metrics import Metrics
from .settings import ServerSettings


@dataclass
class ServerState:
    settings: ServerSettings
    live: LiveEngine
    cache: ResultCache
    metrics: Metrics
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="shoplens-engine")
    )

    async def call(self, fn: Callable[[Engine], Any], *, timeout: float | None = None) -> Any:
        """`fn(engine)` in a worker thread under the model lock; 503 when it outlives the timeout.
        An asyncio executor future (not anyio's `to_thread`, which defers cancellation until the
        thread returns) lets the answer go out at the deadline; a request that timed out while
        still queued for the lock is then skipped instead of run for nobody."""
        abandoned = threading.Event()

        def job():
            self.live.maybe_refresh()
            with self.live.borrow() as engine, self.live.model_lock:
                if abandoned.is_set():
                    return None
                return fn(engine)

        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self.executor, job), timeout or self.settings.search_timeout_s
            )
        except TimeoutError:
            abandoned.set()
            self.metrics.timeouts += 1
            raise HTTPException(503, "the search took too long; try again or simplify the query") from None

    async def borrow(self, fn: Callable[[Engine], Any]) -> Any:
        """`fn(engine)` in a worker thread without the model lock: store reads, feedback writes."""

        def job():
            with self.live.borrow() as engine:
                return fn(engine)

        return await run_in_threadpool(job)


def state_of(request: Request) -> ServerState:
    return request.app.state.shoplens

"""What every route shares: the live engine, the result cache, metrics, settings, admin jobs, and
the one way routes call the engine (off the event loop, with a timeout)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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

    async def call(self, fn: Callable[[Engine], Any], *, timeout: float | None = None) -> Any:
        """`fn(engine)` in a worker thread under the model lock; 503 when it outlives the timeout
        (the thread finishes on its own; the event loop never waits on a model)."""

        def job():
            self.live.maybe_refresh()
            return self.live.call(fn)

        try:
            return await asyncio.wait_for(run_in_threadpool(job), timeout or self.settings.search_timeout_s)
        except TimeoutError:
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

"""`shoplens serve --ray --replicas N`: the same FastAPI app (`create_app`) as a Ray Serve deployment.

Each replica is a Ray actor that opens the store once in its constructor (the models load there,
once per replica, and stay loaded across generation swaps: `LiveEngine` hands them to the next
engine) and then serves every route of `shoplens serve` through `serve.ingress`. Ray Serve's proxy
spreads requests over the replicas. `GET /replica` says which replica answered (process id, when
its models were loaded, requests it served), so a client can see that models are loaded once per
replica and not per request.

The store must be readable at the same path on every node (a shared file system); a reindex
published there reaches every replica within `refresh_interval_s`, as with `--workers`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import replace
from typing import Any

from ..errors import ShoplensError
from ..features.ray_logs import ray_init_kwargs, verbose
from .settings import ServerSettings

log = logging.getLogger(__name__)

APP_NAME = "shoplens"
REPLICA_ROUTE = "/replica"


class RayServeError(ShoplensError):
    """Ray could not be started or reached, or the deployment did not come up."""


class ShoplensReplica:
    """One replica: the store opened (models loaded) here, once; the app built from it."""

    def __init__(self, settings: ServerSettings):
        from fastapi import FastAPI

        from .app import create_app

        t0 = time.time()
        # (not `self.app`: Serve's ASGI wrapper owns that name)
        self.shoplens_app: FastAPI = create_app(settings)  # Engine.open + warm-up: every model loaded now
        self.info: dict[str, Any] = {
            "pid": os.getpid(),
            "loaded_at": t0,
            "load_s": round(time.time() - t0, 3),
            "requests": 0,
        }
        try:
            from ray import serve

            self.info["replica"] = serve.get_replica_context().replica_id.unique_id
        except Exception:  # outside a replica (a unit test constructing it directly): no Ray context
            self.info["replica"] = None

        @self.shoplens_app.get(REPLICA_ROUTE, tags=["operations"])
        async def replica() -> dict[str, Any]:
            """Which Ray Serve replica answered: its pid and when it loaded the models."""
            return dict(self.info)

        @self.shoplens_app.middleware("http")
        async def count(request, call_next):
            self.info["requests"] += 1
            return await call_next(request)

    def __serve_build_asgi_app__(self):
        return self.shoplens_app


def deployment(replicas: int, replica_cpus: float):
    """The Ray Serve deployment (built on demand: importing this module does not import Ray)."""
    from ray import serve

    cls = serve.ingress()(ShoplensReplica)
    return serve.deployment(
        cls,
        name="ShoplensReplica",
        num_replicas=replicas,
        ray_actor_options={"num_cpus": replica_cpus},
        # a replica opens the store and loads every model before it takes traffic
        health_check_timeout_s=120,
        graceful_shutdown_timeout_s=30,
    )


def run_ray_serve(
    settings: ServerSettings,
    *,
    host: str,
    port: int,
    replicas: int,
    replica_cpus: float = 1.0,
    address: str | None = None,
    object_store_mb: int = 256,
    on_ready: Any = None,
) -> int:
    """Start (or join) Ray, deploy `replicas` replicas behind Serve's HTTP proxy on host:port, and
    block until SIGINT/SIGTERM; then delete the deployment and stop the Ray this call started."""
    import ray
    from ray import serve

    if settings.threads is None:  # replicas share the node's cores: each takes what it reserved
        settings = replace(settings, threads=max(1, int(replica_cpus)))
    started = False
    if not ray.is_initialized():
        kw = ray_init_kwargs()
        try:
            if address:
                ray.init(address=address, **kw)
            else:
                need = int(replicas * replica_cpus + 0.999)
                ray.init(
                    address="local",  # a new private instance, never a head that `ray start` left on this machine
                    num_cpus=max(need, os.cpu_count() or 1),
                    object_store_memory=object_store_mb << 20,
                    include_dashboard=False,
                    **kw,
                )
            started = True
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise RayServeError(
                f"--ray: cannot start or reach {where} ({e}); `scripts/ray.sh start` runs a local head "
                "(clients of a head with token authentication need RAY_AUTH_MODE=token)"
            ) from None
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        # Serve's driver-side lines ("Started Serve", "Deployed app") follow the same level as Ray's
        logging.getLogger("ray.serve").setLevel(logging.WARNING if verbose() else logging.ERROR)
        serve.start(http_options={"host": host, "port": port})
        try:
            serve.run(deployment(replicas, replica_cpus).bind(settings), name=APP_NAME, route_prefix="/")
        except RuntimeError as e:  # a replica failed to start: its traceback is in Ray's logs
            raise RayServeError(
                f"--ray: the replicas did not start ({str(e).splitlines()[0]}); their tracebacks are in "
                "the Ray session's logs/serve/ folder (/tmp/ray/session_latest/logs/serve/ on a local Ray)"
            ) from None
        if on_ready is not None:
            on_ready()
        while not stop.wait(0.5):
            pass
        log.info("stopping: deleting the %s deployment", APP_NAME)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        try:
            if started:
                serve.shutdown()
            else:  # a shared cluster: leave its Serve (and other applications) running
                serve.delete(APP_NAME)
        finally:
            if started:
                ray.shutdown()
    return 0

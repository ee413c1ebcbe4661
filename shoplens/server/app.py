"""The app factory: `create_app(settings)` for `shoplens serve`, `app_from_env()` for uvicorn's
import-string form (`--workers N`: each worker process opens the store named by $SHOPLENS_STORE)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..config import EncoderConfig, EngineConfig
from ..engine import Engine
from .cache import ResultCache
from .errors import install_error_handlers
from .live import LiveEngine
from .metrics import Metrics
from .middleware import ServingMiddleware
from .models import Health
from .settings import ServerSettings, settings_from_env
from .state import ServerState, state_of

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def _swagger_dir() -> Path | None:
    """Swagger UI 5 (OpenAPI 3.1, what FastAPI writes) from the swagger-ui-bundle-v2 wheel: /docs works offline."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def create_app(settings: ServerSettings, engine: Engine | None = None, config: EngineConfig | None = None) -> FastAPI:
    """`engine` lets a caller (tests, the benchmark) hand over an engine it already opened."""
    if config is None:
        config = (
            engine.config
            if engine is not None
            else EngineConfig(encoders=EncoderConfig(threads=settings.threads) if settings.threads else EncoderConfig())
        )
    engine = engine or Engine.open(settings.store, config)
    engine.warm_up(images=True)  # segmenter, text and photo encoders loaded before the first shopper
    live = LiveEngine(
        engine,
        opener=lambda cur: Engine(cur.store, cur.config, encoders=cur.encoders),
        refresh_interval_s=settings.refresh_interval_s,
    )
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        live.close()

    swagger = _swagger_dir()
    app = FastAPI(
        title="shoplens",
        version=__version__,
        description="Cross-modal product search: text (English/Chinese), photo, or both.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.shoplens = ServerState(
        settings=settings, live=live, cache=ResultCache(settings.cache_size), metrics=metrics
    )
    install_error_handlers(app)
    app.add_middleware(
        ServingMiddleware,
        metrics=metrics,
        max_upload_bytes=settings.max_upload_bytes,
        max_json_bytes=settings.max_json_bytes,
    )
    from . import routes_admin, routes_events, routes_products, routes_search

    for r in (routes_search, routes_products, routes_events, routes_admin):
        app.include_router(r.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if swagger is not None:
        app.mount("/docs-static", StaticFiles(directory=swagger), name="docs-static")

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def docs():
        if swagger is None:
            return HTMLResponse(
                "<p>Swagger UI is not installed; the schema is at <a href=/openapi.json>/openapi.json</a>"
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="shoplens API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon-32x32.png",
        )

    @app.get("/healthz", response_model=Health, tags=["operations"])
    async def healthz(request: Request):
        st = state_of(request)
        return await st.borrow(
            lambda e: {"status": "ok", "generation": e.reader.gen.name, "products": e.manifest.products}
        )

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    async def prometheus(request: Request):
        st = state_of(request)
        text = st.metrics.render(st.cache.hits, st.cache.misses, len(st.cache), st.live.generation, st.live.swaps)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return app


def app_from_env() -> FastAPI:
    """uvicorn factory: `uvicorn --factory shoplens.server.app:app_from_env --workers 4`."""
    return create_app(settings_from_env())

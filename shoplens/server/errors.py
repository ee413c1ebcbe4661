"""How errors become HTTP answers: the user's mistakes (ShoplensError, validation) get a 4xx with
`{"error": "..."}` naming what was wrong; anything else is a bug, logged with its traceback and
answered 500 (and counted in /metrics)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import (
    CatalogError,
    ConfigError,
    EventError,
    ImageError,
    QueryError,
    ShoplensError,
    StoreError,
    UsageError,
)

log = logging.getLogger(__name__)


class NotFound(ShoplensError):
    """An unknown product (or photo) id."""


class NotAvailable(ShoplensError):
    """A feature this shoplens does not have yet (answered 501)."""


def status_for(e: ShoplensError) -> int:
    if isinstance(e, NotFound):
        return 404
    if isinstance(e, NotAvailable):
        return 501
    if isinstance(e, ImageError):
        if "limit" in e.reason:
            return 413
        return 415 if "not a recognised image" in e.reason or "empty" in e.reason else 400
    if isinstance(e, EventError):
        return 422
    if isinstance(e, StoreError):
        return 503
    if isinstance(e, (QueryError, CatalogError, ConfigError, UsageError)):
        return 400
    return 400


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body"))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShoplensError)
    async def _shoplens(request: Request, exc: ShoplensError):
        msg = str(exc).replace("<bytes>", "the uploaded photo")  # the engine names in-memory images so
        return JSONResponse({"error": msg}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error (a bug in shoplens; see the server log)"}, status_code=500)

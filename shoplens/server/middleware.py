"""ASGI middleware: request-body limits enforced while streaming, and per-route metrics.

The body limit is checked on Content-Length before anything is read, and again on every chunk
while the app reads, so a 1 GB upload (with or without Content-Length) is refused with 413 after
at most `limit` bytes, never buffered whole.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from .metrics import Metrics

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


def _limit_for(scope: dict[str, Any], upload: int, other: int) -> int:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            return upload if value.lower().startswith(b"multipart/") else other
    return other


async def _send_json(send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class ServingMiddleware:
    def __init__(self, app, *, metrics: Metrics, max_upload_bytes: int, max_json_bytes: int):
        self.app, self.metrics = app, metrics
        self.max_upload, self.max_json = max_upload_bytes, max_json_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}
        limit = _limit_for(scope, self.max_upload, self.max_json)
        too_large = f"request body exceeds the {limit}-byte limit for this request; send a smaller file"
        try:
            for name, value in scope.get("headers") or ():
                if name == b"content-length":
                    try:
                        declared = int(value)
                    except ValueError:
                        status["code"] = 400
                        return await _send_json(send, 400, {"error": "Content-Length is not a number"})
                    if declared > limit:
                        status["code"] = 413
                        return await _send_json(send, 413, {"error": too_large})
            seen = {"bytes": 0, "over": False}

            async def limited_receive():
                if seen["over"]:
                    raise BodyTooLarge()
                msg = await receive()
                if msg["type"] == "http.request":
                    seen["bytes"] += len(msg.get("body", b""))
                    if seen["bytes"] > limit:
                        seen["over"] = True
                        raise BodyTooLarge()
                return msg

            started = {"v": False}

            async def guarded_send(msg):
                if seen["over"]:  # whatever the app made of the aborted body, the answer is 413
                    if msg["type"] == "http.response.start" and not started["v"]:
                        started["v"] = True
                        status["code"] = 413
                        await _send_json(send, 413, {"error": too_large})
                    return
                if msg["type"] == "http.response.start":
                    started["v"] = True
                    status["code"] = msg["status"]
                await send(msg)

            try:
                await self.app(scope, limited_receive, guarded_send)
            except BodyTooLarge:
                if not started["v"]:
                    status["code"] = 413
                    await _send_json(send, 413, {"error": too_large})
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(name, scope.get("method", "?"), status["code"], time.perf_counter() - t0)

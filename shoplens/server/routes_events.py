"""/events: shoppers' UBI events (impressions, clicks, dwell...) into the store's feedback log."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from ..engine import Engine
from ..errors import EventError
from .models import ErrorModel, EventReportModel
from .state import state_of

router = APIRouter(tags=["feedback"])


@router.post(
    "/events",
    response_model=EventReportModel,
    responses={400: {"model": ErrorModel}, 413: {"model": ErrorModel}, 422: {"model": ErrorModel}},
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {}}}, "required": True}},
)
async def events(request: Request):
    """One UBI event object or a list of them. Each is validated on its own: the answer says how many
    were stored, how many were already there, and which were refused and why. Any content type is
    read as JSON, so `navigator.sendBeacon` works."""
    st = state_of(request)
    raw = await request.body()
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HTTPException(400, f"the body is not valid JSON ({e}); send one UBI event object or a list") from None
    items = doc if isinstance(doc, list) else [doc]
    if len(items) > st.settings.max_events_per_request:
        raise EventError(f"{len(items)} events in one request; the limit is {st.settings.max_events_per_request}")

    def work(engine: Engine) -> dict[str, Any]:
        return engine.record_events(items).to_json()

    return await st.borrow(work)

"""/search (GET: text; POST multipart: photo, text or both), /products/{id}/similar, /recommend."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile

from ..engine import Engine
from ..errors import QueryError
from ..search.query import Query as SearchQuery
from ..search.query import parse_filters
from .errors import NotFound
from .models import ErrorModel, SearchResponse
from .render import render_result
from .state import ServerState, state_of

router = APIRouter(tags=["search"])
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorModel} for c in (400, 404, 413, 415, 422, 501, 503)}


def _json_param(name: str, raw: str | None, kind: type) -> Any:
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        raise QueryError(f"'{name}' is not valid JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(value, kind):
        raise QueryError(f"'{name}' must be a JSON {kind.__name__}, got {type(value).__name__}")
    return value


def filters_from(items: list[str] | None, filters_json: str | None) -> dict[str, Any]:
    """`filter=gender:Women` (repeat a field for any of; `price<=50` works too) and/or `filters` as a
    JSON object {field: value or [values]}."""
    lines = []
    for item in items or []:
        head, sep, tail = item.partition(":")
        lines.append(f"{head}={tail}" if sep and not any(c in head for c in "<>=!") else item)
    try:
        out = parse_filters(lines)
    except QueryError as e:
        raise QueryError(str(e).replace("--filter", "filter").replace("FIELD=VALUE", "field:value")) from None
    extra = _json_param("filters", filters_json, dict) or {}
    for f, v in extra.items():
        if not isinstance(v, (str, int, float, list)) or isinstance(v, bool):
            raise QueryError(f"filters.{f}: expected a string, number or list of them")
        out[f] = v
    return out


def _facets(raw: str | None) -> list[str] | bool | None:
    if not raw:
        return None
    if raw == "all":
        return True
    return [f.strip() for f in raw.split(",") if f.strip()]


def cache_key(q: SearchQuery, image_hash: str | None, explain: bool, engine: Engine, generation: str) -> tuple:
    return (
        q.text,
        image_hash,
        q.k,
        json.dumps(q.filters, sort_keys=True, default=str),
        json.dumps(q.facets, default=str),
        json.dumps(q.weights, sort_keys=True),
        q.user,
        q.session,
        q.strict_attributes,
        explain,
        generation,
        getattr(engine, "ranker_fingerprint", None),
    )


async def run_search(st: ServerState, q: SearchQuery, image_hash: str | None, explain: bool, log: bool) -> dict:
    q.validate()  # bad input answers 400 here, before any model runs

    def work(engine: Engine) -> dict[str, Any]:
        key = cache_key(q, image_hash, explain, engine, engine.reader.gen.name)
        page = st.cache.get(key)
        cached = page is not None
        if page is None:  # the cache holds the ranked page; exploration is drawn per logged request
            page = render_result(engine, engine.search_query(q), explain)
            st.cache.put(key, page)
        out = {**page, "cached": cached}
        if log:  # a cached page still is a new search by this shopper: log it under a new id
            attributes = {k: v for k, v in page["query"].items() if k not in ("text", "image")}
            explored = engine.exploration(len(page["results"]))  # as Engine.search(log=True)
            if explored is not None:
                out["results"] = explored.apply(page["results"])
                attributes["explored"] = explored.log_attributes()
            out["query_id"] = engine.feedback.log_query(
                q.text,
                [r["id"] for r in out["results"]],
                user_id=q.user,
                client_id=q.user,
                session_id=q.session,
                attributes=attributes,
            )
        return out

    return await st.call(work)


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
async def search_get(
    request: Request,
    q: Annotated[str | None, Query(description="query text, English or Chinese")] = None,
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
    filter: Annotated[list[str] | None, Query(description="field:value, repeatable; price<=50")] = None,
    filters: Annotated[str | None, Query(description='JSON object, e.g. {"gender": "Women"}')] = None,
    facets: Annotated[str | None, Query(description="comma-separated fields, or 'all'")] = None,
    user: str | None = None,
    session: str | None = None,
    strict: bool = False,
    weights: Annotated[str | None, Query(description='JSON fusion weights, e.g. {"bm25": 2}')] = None,
    explain: bool = False,
    log: Annotated[bool, Query(description="record the search in the feedback log (gives query_id)")] = True,
):
    sq = SearchQuery(
        text=q,
        k=k,
        filters=filters_from(filter, filters),
        facets=_facets(facets),
        strict_attributes=strict,
        weights=_json_param("weights", weights, dict),
        user=user,
        session=session,
    )
    return await run_search(state_of(request), sq, None, explain, log)


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search_post(
    request: Request,
    image: Annotated[UploadFile | None, File(description="query photo (JPEG, PNG, WebP...)")] = None,
    q: Annotated[str | None, Form()] = None,
    k: Annotated[int, Form(ge=1, le=1000)] = 10,
    filters: Annotated[str | None, Form(description="JSON object {field: value or [values]}")] = None,
    facets: Annotated[str | None, Form()] = None,
    user: Annotated[str | None, Form()] = None,
    session: Annotated[str | None, Form()] = None,
    strict: Annotated[bool, Form()] = False,
    weights: Annotated[str | None, Form()] = None,
    explain: Annotated[bool, Form()] = False,
    log: Annotated[bool, Form()] = True,
):
    data = await image.read() if image is not None else b""
    if image is not None and not data and image.filename:
        raise QueryError(f"the uploaded photo {image.filename!r} is empty")
    sq = SearchQuery(
        text=q,
        image=data or None,
        k=k,
        filters=filters_from(None, filters),
        facets=_facets(facets),
        strict_attributes=strict,
        weights=_json_param("weights", weights, dict),
        user=user,
        session=session,
    )
    image_hash = hashlib.sha256(data).hexdigest() if data else None
    return await run_search(state_of(request), sq, image_hash, explain, log)


@router.get("/products/{pid}/similar", response_model=SearchResponse, responses=ERRORS, tags=["products"])
async def similar(
    request: Request,
    pid: str,
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
    explain: bool = False,
    user: Annotated[str | None, Query(max_length=200)] = None,
    session: Annotated[str | None, Query(max_length=200)] = None,
    log: bool = True,
):
    """Logged like a search (no query text; `similar_to` in its attributes), so the shopper's clicks
    on these products cite a query_id too."""
    st = state_of(request)

    def work(engine: Engine):
        if engine.reader.products.doc_of(pid) is None:
            raise NotFound(f"no product with id {pid!r}")
        res = engine.similar(pid, k=k)
        out = render_result(engine, res, explain)
        if log:
            out["query_id"] = engine.feedback.log_query(
                None, res.ids, user_id=user, client_id=user, session_id=session, attributes={"similar_to": pid, "k": k}
            )
        return out

    return await st.call(work)


@router.get("/recommend", response_model=SearchResponse, responses=ERRORS)
async def recommend(
    request: Request,
    user: Annotated[str, Query(min_length=1, max_length=200)],
    k: Annotated[int, Query(ge=1, le=1000)] = 10,
):
    st = state_of(request)

    def work(engine: Engine):
        return render_result(engine, engine.recommend(user, k=k), False)

    return await st.call(work)

"""/admin/reindex and /admin/train-ranker: off (404) unless a token is configured; then they need
`Authorization: Bearer <token>` (compared in constant time), else 401."""

from __future__ import annotations

import hmac
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from ..config import BuildConfig
from ..engine import Engine
from ..errors import ShoplensError
from .state import ServerState, state_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/admin", tags=["admin"])


class ReindexRequest(BaseModel):
    catalogs: list[str]
    delete_missing: bool = False
    rebuild: bool = False
    auto_align: bool = True


def _authorise(request: Request) -> ServerState:
    st = state_of(request)
    token = st.settings.admin_token
    if not token:
        raise HTTPException(
            404, "admin routes are off: start the server with $SHOPLENS_ADMIN_TOKEN or --admin-token-file"
        )
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise HTTPException(401, "admin routes need 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
    return st


def _run_reindex(st: ServerState, job: dict[str, Any], req: ReindexRequest) -> None:
    """Build the new generation while the old engine keeps answering, then swap. A build already
    loads its own models; the new engine keeps them and the old one's go when it closes."""
    build = BuildConfig(
        delete_missing=req.delete_missing, rebuild=req.rebuild, auto_align=req.auto_align, progress=False
    )
    t0 = time.perf_counter()
    try:
        with st.live.borrow() as current:
            config = current.config
        with st.live.refresh_paused():
            engine = Engine.build(req.catalogs, st.live.store, config, build)
            st.live.swap(engine)
            st.cache.clear()
        job.update(
            status="done",
            generation=engine.reader.gen.name,
            products=engine.manifest.products,
            changes=engine.manifest.ingest,
        )
    except ShoplensError as e:
        job.update(status="failed", error=str(e))
    except Exception as e:  # a bug: keep serving the old generation, say so in the job and the log
        log.exception("reindex failed")
        job.update(status="failed", error=f"internal error: {e}")
    finally:
        job["seconds"] = round(time.perf_counter() - t0, 2)


@router.post("/reindex", status_code=202)
async def reindex(request: Request, body: ReindexRequest):
    st = _authorise(request)
    if not body.catalogs:
        raise HTTPException(400, "'catalogs' must name at least one catalog file")
    missing = [c for c in body.catalogs if not Path(c).is_file()]
    if missing:
        raise HTTPException(400, f"catalog file(s) not found on the server: {', '.join(missing)}")
    if any(j["status"] == "running" and j["kind"] == "reindex" for j in st.jobs.values()):
        raise HTTPException(409, "a reindex is already running; GET /admin/reindex shows it")
    job: dict[str, Any] = {
        "job": uuid.uuid4().hex[:12],
        "kind": "reindex",
        "status": "running",
        "catalogs": body.catalogs,
        "started": time.time(),
    }
    st.jobs[job["job"]] = job
    threading.Thread(target=_run_reindex, args=(st, job, body), name="shoplens-reindex", daemon=True).start()
    return job


@router.get("/reindex")
async def reindex_status(request: Request):
    st = _authorise(request)
    return {"generation": st.live.generation, "jobs": [j for j in st.jobs.values() if j["kind"] == "reindex"][-10:]}


def _run_train_ranker(st: ServerState, job: dict[str, Any]) -> None:
    """Runs beside the searches (not under the model lock: training takes minutes and the shop
    keeps answering); `Engine.train_ranker` must publish its new ranker atomically."""
    t0 = time.perf_counter()
    try:
        with st.live.borrow() as engine:
            out = engine.train_ranker()
        st.cache.clear()  # pages are keyed on the ranker fingerprint too; this frees them sooner
        job.update(status="done", result=out if isinstance(out, dict) else str(out))
    except ShoplensError as e:
        job.update(status="failed", error=str(e))
    except Exception as e:
        log.exception("ranker training failed")
        job.update(status="failed", error=f"internal error: {e}")
    finally:
        job["seconds"] = round(time.perf_counter() - t0, 2)


@router.post("/train-ranker", status_code=202)
async def train_ranker(request: Request):
    st = _authorise(request)
    if any(j["status"] == "running" and j["kind"] == "train-ranker" for j in st.jobs.values()):
        raise HTTPException(409, "ranker training is already running; GET /admin/train-ranker shows it")
    job: dict[str, Any] = {
        "job": uuid.uuid4().hex[:12],
        "kind": "train-ranker",
        "status": "running",
        "started": time.time(),
    }
    st.jobs[job["job"]] = job
    threading.Thread(target=_run_train_ranker, args=(st, job), name="shoplens-train-ranker", daemon=True).start()
    return job


@router.get("/train-ranker")
async def train_ranker_status(request: Request):
    st = _authorise(request)
    return {"jobs": [j for j in st.jobs.values() if j["kind"] == "train-ranker"][-10:]}

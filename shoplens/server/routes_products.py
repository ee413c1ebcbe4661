"""/products/{id} and /images/{id}: a product and its photos (only files the catalog named)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from ..engine import Engine
from .errors import NotFound
from .models import ErrorModel, ProductModel
from .render import product_json
from .state import state_of

router = APIRouter(tags=["products"])


@router.get("/products/{pid}", response_model=ProductModel, responses={404: {"model": ErrorModel}})
async def product(request: Request, pid: str):
    def work(engine: Engine):
        p = engine.products([pid]).get(pid)
        if p is None:
            raise NotFound(f"no product with id {pid!r}")
        return product_json(p, has_thumbnail=engine.thumbnail(pid) is not None)

    return await state_of(request).borrow(work)


@router.get(
    "/images/{pid}",
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}}, 404: {"model": ErrorModel}},
)
async def image(request: Request, pid: str, n: Annotated[int, Query(ge=0, le=1000)] = 0):
    """The product's n-th photo. The path comes from the store, never from the request, so nothing
    but files the catalog named can be served."""

    def work(engine: Engine) -> Path:
        p = engine.products([pid]).get(pid)
        if p is None:
            raise NotFound(f"no product with id {pid!r}")
        thumb = engine.thumbnail(pid) if not p.images and n == 0 else None
        if thumb is not None:  # a product with only a video shows its key-frame
            return thumb
        if n >= len(p.images):
            raise NotFound(f"product {pid!r} has {len(p.images)} photo(s); there is no photo {n}")
        path = Path(p.images[n])
        if not path.is_file():
            raise NotFound(f"the photo of product {pid!r} is no longer on disk")
        return path

    path = await state_of(request).borrow(work)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not media.startswith("image/"):
        raise NotFound(f"product {pid!r} photo {n} is not an image file")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})

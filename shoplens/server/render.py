"""Search results as the API's JSON: the engine's `SearchResult.to_json` plus what a page needs to
show a product (photo URL, price, attributes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..engine import Engine
from ..records import Product, SearchResult


def image_url(pid: str, n: int = 0) -> str:
    return f"/images/{quote(pid, safe='')}" + (f"?n={n}" if n else "")


def product_json(p: Product, has_thumbnail: bool = False) -> dict[str, Any]:
    """A product without server file paths: photos are referred to by URL (`has_thumbnail`: a
    product with no photo shows its video's key-frame at the same URL)."""
    return {
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "price": p.price,
        "attributes": dict(p.attributes),
        "image_url": image_url(p.id) if p.images or has_thumbnail else None,
        "image_urls": [image_url(p.id, i) for i in range(len(p.images))],
        "reviews": list(p.reviews),
    }


def render_result(engine: Engine, res: SearchResult, explain: bool) -> dict[str, Any]:
    d = res.to_json(explain=explain)
    d.pop("query_id", None)  # set per request by the caller (a cached page gets a fresh one)
    products = engine.products(res.ids)
    for row in d["results"]:
        p = products.get(row["id"])
        row["image_url"] = (
            image_url(p.id) if p is not None and (p.images or engine.thumbnail(p.id) is not None) else None
        )
        row["price"] = p.price if p is not None else None
        row["attributes"] = dict(p.attributes) if p is not None else {}
    d.setdefault("facets", None)
    d["understanding"] = res.understanding
    d["timings_ms"] = {k: round(v, 2) for k, v in res.timings_ms.items()}
    return d

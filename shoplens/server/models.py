"""Response models for the OpenAPI schema at /docs; they mirror `SearchResult`, `Hit`, `Product`
and `EventReport` field for field (see records.py and feedback/log.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ComponentScoreModel(BaseModel):
    score: float
    rank: int
    contribution: float


class PredictedAttribute(BaseModel):
    value: str
    p: float


class ResultItem(BaseModel):
    id: str
    score: float
    title: str | None = None
    image_url: str | None = None
    price: float | None = None
    attributes: dict[str, str] = {}
    explain: dict[str, ComponentScoreModel] | None = None
    predicted_attributes: dict[str, PredictedAttribute] | None = None
    review_snippet: str | None = None  # the customer review that matched the query


class SearchResponse(BaseModel):
    query_id: str | None = None
    query: dict[str, Any]
    results: list[ResultItem]
    facets: dict[str, dict[str, int]] | None = None
    understanding: dict[str, Any] | None = None
    timings_ms: dict[str, float] = {}
    cached: bool = False


class ProductModel(BaseModel):
    id: str
    title: str | None = None
    description: str | None = None
    price: float | None = None
    attributes: dict[str, str] = {}
    image_url: str | None = None
    image_urls: list[str] = []
    reviews: list[str] = []


class RefusedEvent(BaseModel):
    index: int
    error: str


class EventReportModel(BaseModel):
    stored: int
    duplicates: int
    refused: list[RefusedEvent]


class Health(BaseModel):
    status: str
    generation: str
    products: int


class ErrorModel(BaseModel):
    error: str

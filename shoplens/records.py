"""Typed records passed between pipeline stages.

These are the stable contract between stages (catalog -> encode -> store ->
search) and for later stages (ranker, feedback, serving): add optional fields,
never rename or repurpose existing ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Product:
    """One catalog product; any subset of modalities may be present."""

    id: str
    title: str | None = None
    description: str | None = None
    images: tuple[str, ...] = ()  # absolute paths
    videos: tuple[str, ...] = ()
    reviews: tuple[str, ...] = ()
    price: float | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # One entry per review (None: unrated) when any review has a rating; () when none has.
    review_ratings: tuple[float | None, ...] = ()

    def text(self) -> str:
        """The product's searchable text: title, description and attribute values."""
        parts = [self.title or "", self.description or ""]
        parts += [str(v) for v in self.attributes.values() if v not in (None, "")]
        return " ".join(p for p in parts if p).strip()

    def content_hash(self) -> str:
        """Hash of everything that affects indexing; unchanged hash => reuse vectors."""
        d = asdict(self)
        if not d["review_ratings"]:  # absent before reviews had ratings: keep older stores' hashes
            del d["review_ratings"]
        payload = json.dumps(d, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha1(payload.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("images", "videos", "reviews", "review_ratings"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Product:
        return cls(
            id=str(d["id"]),
            title=d.get("title"),
            description=d.get("description"),
            images=tuple(d.get("images") or ()),
            videos=tuple(d.get("videos") or ()),
            reviews=tuple(d.get("reviews") or ()),
            price=d.get("price"),
            attributes=dict(d.get("attributes") or {}),
            review_ratings=tuple(d.get("review_ratings") or ()),
        )


@dataclass(frozen=True)
class IngestIssue:
    """A problem with one catalog row or field; `row` is 1-based data row (header excluded)."""

    file: str
    row: int | None
    field: str | None
    message: str
    product_id: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.product_id is not None:
            where += f" (id {self.product_id})"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


@dataclass
class IngestReport:
    """What happened to a catalog: kept products, skipped rows, skipped modalities."""

    file: str
    rows_read: int = 0
    products: int = 0
    rows_skipped: list[IngestIssue] = field(default_factory=list)  # whole row dropped
    field_issues: list[IngestIssue] = field(default_factory=list)  # row kept, one modality dropped
    duplicates: list[IngestIssue] = field(default_factory=list)  # earlier row replaced

    def all_issues(self) -> list[IngestIssue]:
        return self.rows_skipped + self.field_issues + self.duplicates

    def summary(self, examples: int = 3) -> str:
        lines = [f"{self.file}: {self.rows_read} rows read, {self.products} products kept"]
        for label, items in (
            ("rows skipped", self.rows_skipped),
            ("fields dropped (row kept)", self.field_issues),
            ("duplicate ids (last one wins)", self.duplicates),
        ):
            if items:
                lines.append(f"  {len(items)} {label}, e.g.:")
                lines += [f"    - {i}" for i in items[:examples]]
        return "\n".join(lines)


@dataclass(frozen=True)
class ComponentScore:
    """One retrieval component's view of a hit, for `explain`."""

    score: float  # the component's raw similarity / BM25 score
    rank: int  # 1-based rank within that component
    contribution: float  # what it added to the fused score


@dataclass
class Hit:
    id: str
    score: float
    title: str | None = None
    components: dict[str, ComponentScore] = field(default_factory=dict)
    # What the alignment heads read from the photo (field -> (value, probability)), for hits found
    # by text->image: a photo-only product has no attribute text to show why it matched.
    predicted: dict[str, tuple[str, float]] = field(default_factory=dict)
    # Set when the learned ranker re-ordered the results: its probability, where fusion had put the hit,
    # and the feature groups that moved its score most ({group: logit change}).
    ranker: dict[str, Any] | None = None
    # How sure search is that this hit answers the query (0..1) and the evidence that rests on;
    # hits below the store's threshold are not returned (search/confidence.py).
    confidence: float | None = None
    evidence: str | None = None
    # The customer review that matched the query, for hits the `reviews` component found.
    snippet: str | None = None
    # The text printed in its photos, for hits that matched through it (ocr components).
    photo_text: str | None = None

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "score": round(float(self.score), 6), "title": self.title}
        if self.snippet is not None:
            d["review_snippet"] = self.snippet
        if explain:
            if self.confidence is not None:
                d["confidence"] = round(float(self.confidence), 4)
                d["kept_because"] = self.evidence
            d["explain"] = {
                k: {"score": round(v.score, 6), "rank": v.rank, "contribution": round(v.contribution, 6)}
                for k, v in self.components.items()
            }
            if self.photo_text:
                d["photo_text"] = self.photo_text
            if self.predicted:
                d["predicted_attributes"] = {
                    f: {"value": v, "p": round(float(p), 4)} for f, (v, p) in self.predicted.items()
                }
            if self.ranker is not None:
                d["explain"]["ranker"] = self.ranker
        return d


@dataclass
class SearchResult:
    """Ranked hits plus what the engine understood of the query; iterates over hits."""

    query: dict[str, Any]
    hits: list[Hit]
    facets: dict[str, dict[str, int]] | None = None
    understanding: dict[str, Any] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Set when the search was logged to the store's feedback log: events about these hits cite it.
    query_id: str | None = None

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i: int) -> Hit:
        return self.hits[i]

    @property
    def ids(self) -> list[str]:
        return [h.id for h in self.hits]

    def to_json(self, explain: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"query": self.query, "results": [h.to_json(explain) for h in self.hits]}
        if self.query_id is not None:
            d["query_id"] = self.query_id
        if self.facets is not None:
            d["facets"] = self.facets
        if explain and self.understanding is not None:
            d["understanding"] = self.understanding
        return d

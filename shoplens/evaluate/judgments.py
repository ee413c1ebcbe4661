"""Relevance judgments: loaders for qrels / CSV / OpenSearch SRW JSON, query
files, and judgments built from a catalog's own attributes.

Judgments are keyed by query id; CSV and SRW files key them by query text,
so they are matched to a query file by normalised text (or, with no query
file, become the query set themselves). Grades must end up integral because
trec_eval's semantics are defined on integer relevance levels.
"""

from __future__ import annotations

import csv
import json
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fsutil import atomic_open
from ..jsonlines import parse_object
from ..preprocess import lexicon
from ..records import Product
from .trec import EvalFileError, Qrels, parse_grade, read_qrels, write_qrels

CSV_QUERY = ("query", "query_text", "querytext", "user_query", "keywords")
CSV_QID = ("qid", "query_id")
CSV_DOC = ("id", "docid", "doc_id", "product_id", "docId", "asin")
CSV_GRADE = ("grade", "rating", "relevance", "label", "judgment")


@dataclass
class Judgments:
    """qid -> {docid: grade}, plus each query's text when the source had it."""

    qrels: Qrels
    texts: dict[str, str] = field(default_factory=dict)
    source: str = ""
    by_text: bool = False  # qids were made up from query texts (CSV / SRW)

    def queries(self) -> list[dict[str, Any]]:
        return [{"qid": q, "text": self.texts[q], "filters": {}} for q in self.qrels if q in self.texts]


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def parse_grade_map(spec: str | None) -> dict[float, int] | None:
    """'100:3,10:2,1:1,0:0' -> {100.0: 3, ...}; maps source ratings to integer grades."""
    if not spec:
        return None
    out: dict[float, int] = {}
    for part in spec.split(","):
        src, _, dst = part.partition(":")
        try:
            out[float(src)] = int(dst)
        except ValueError:
            raise ValueError(f"bad --grade-map entry {part!r}; expected RATING:GRADE, e.g. 100:3") from None
    return out


def _grade(
    raw: Any, file: str, line: int | None, fld: str, grade_map: dict[float, int] | None, scale: float | None
) -> int:
    try:
        v = float(raw)
    except (TypeError, ValueError):
        raise EvalFileError(file, line, fld, f"not a number: {raw!r}") from None
    if grade_map is not None:
        if v not in grade_map:
            raise EvalFileError(file, line, fld, f"rating {raw!r} is not in the grade map {sorted(grade_map)}")
        return grade_map[v]
    if scale is not None:
        v = round(v * scale)
    return parse_grade(repr(v), file, line, fld)


class _TextKeys:
    """Assigns q0001, q0002, ... to query texts in first-seen order (deterministic per file)."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def qid(self, text: str) -> str:
        key = normalise(text)
        if key not in self.ids:
            self.ids[key] = f"q{len(self.ids) + 1:04d}"
            self.texts[self.ids[key]] = text.strip()
        return self.ids[key]


def _pick(header: Sequence[str], names: Sequence[str]) -> str | None:
    lower = {h.strip().lower(): h for h in header}
    for n in names:
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def _require_column(col: str | None, what: str, path: Path, header: Sequence[str]) -> str:
    if col is None:
        raise EvalFileError(
            path, 1, what, f"header has no '{what}' column (got {header}); expected columns query,id,grade"
        )
    return col


def load_csv(path: str | Path, grade_map=None, scale=None) -> Judgments:
    """`query,id,grade` (header required; common aliases such as docid/rating accepted)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        sample = f.read(4096)
        f.seek(0)
        delim = "\t" if path.suffix.lower() == ".tsv" or ("\t" in sample and "," not in sample) else ","
        reader = csv.DictReader(f, delimiter=delim)
        header = reader.fieldnames or []
        qcol, qidcol = _pick(header, CSV_QUERY), _pick(header, CSV_QID)
        dcol, gcol = _pick(header, CSV_DOC), _pick(header, CSV_GRADE)
        _require_column(qcol or qidcol, "query", path, header)
        dcol = _require_column(dcol, "id", path, header)
        gcol = _require_column(gcol, "grade", path, header)
        keys = _TextKeys()
        qrels: Qrels = {}
        seen: dict[tuple[str, str], int] = {}
        for row in reader:
            line = reader.line_num
            if None in row:
                raise EvalFileError(path, line, None, "more cells than the header has columns")
            text = (row.get(qcol) or "").strip() if qcol else ""
            qid_raw = (row.get(qidcol) or "").strip() if qidcol else ""
            if not text and not qid_raw:
                raise EvalFileError(path, line, qcol or qidcol, "empty query")
            doc = (row.get(dcol) or "").strip()
            if not doc:
                raise EvalFileError(path, line, dcol, "empty document id")
            g = _grade((row.get(gcol) or "").strip(), str(path), line, gcol, grade_map, scale)
            qid = qid_raw or keys.qid(text)
            if qid_raw and text:
                keys.texts[qid] = text
            if (qid, doc) in seen:
                raise EvalFileError(
                    path, line, dcol, f"document {doc!r} already judged for this query on line {seen[qid, doc]}"
                )
            seen[qid, doc] = line
            qrels.setdefault(qid, {})[doc] = g
    return Judgments(qrels, keys.texts, str(path), by_text=not qidcol)


def load_srw(path: str | Path, grade_map=None, scale=None) -> Judgments:
    """OpenSearch Search Relevance Workbench judgments: {"judgmentRatings": [{"query", "ratings": [{"docId", "rating"}]}]}."""  # noqa: E501
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise EvalFileError(path, e.lineno, None, f"invalid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("judgmentRatings"), list):
        raise EvalFileError(
            path,
            None,
            "judgmentRatings",
            "expected an object with a 'judgmentRatings' list (OpenSearch Search Relevance Workbench format)",
        )
    keys = _TextKeys()
    qrels: Qrels = {}
    for i, entry in enumerate(data["judgmentRatings"]):
        where = f"judgmentRatings[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("query"), str) or not entry["query"].strip():
            raise EvalFileError(path, None, f"{where}.query", "missing or empty query text")
        ratings = entry.get("ratings")
        if not isinstance(ratings, list):
            raise EvalFileError(path, None, f"{where}.ratings", "expected a list of {docId, rating}")
        docs = qrels.setdefault(keys.qid(entry["query"]), {})
        for j, r in enumerate(ratings):
            rw = f"{where}.ratings[{j}]"
            doc = r.get("docId") if isinstance(r, dict) else None
            if doc is None or not str(doc).strip():
                raise EvalFileError(path, None, f"{rw}.docId", "missing document id")
            if "rating" not in r:
                raise EvalFileError(path, None, f"{rw}.rating", "missing rating")
            docs[str(doc).strip()] = _grade(r["rating"], str(path), None, f"{rw}.rating", grade_map, scale)
    return Judgments(qrels, keys.texts, str(path), by_text=True)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "srw"
    if suffix in (".csv", ".tsv"):
        return "csv"
    return "trec"


def load_judgments(
    path: str | Path, fmt: str = "auto", grade_map: dict[float, int] | None = None, scale: float | None = None
) -> Judgments:
    """Load qrels (`qid 0 docid grade`), CSV (`query,id,grade`) or SRW judgment JSON."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(path, None, None, "file not found")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "srw":
        return load_srw(path, grade_map, scale)
    if fmt == "csv":
        return load_csv(path, grade_map, scale)
    if fmt == "trec":
        q = read_qrels(path)
        if grade_map or scale:
            q = {
                qid: {d: _grade(g, str(path), None, "grade", grade_map, scale) for d, g in docs.items()}
                for qid, docs in q.items()
            }
        return Judgments(q, {}, str(path))
    raise ValueError(f"unknown judgments format {fmt!r} (use auto, trec, csv or srw)")


# ---------------------------------------------------------------- query files


def load_queries(path: str | Path) -> list[dict[str, Any]]:
    """Queries JSONL (`{"qid", "text", "image", "filters", "lang"}`), SRW query-set JSON, or TSV `qid<TAB>text`."""
    path = Path(path)
    if not path.is_file():
        raise EvalFileError(path, None, None, "file not found")
    raw = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json" and raw.lstrip().startswith("{") and "querySetQueries" in raw:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise EvalFileError(path, e.lineno, None, f"invalid JSON: {e.msg}") from None
        out: list[dict[str, Any]] = []
        for i, q in enumerate(data.get("querySetQueries") or []):
            if not isinstance(q, dict) or not str(q.get("queryText", "")).strip():
                raise EvalFileError(path, None, f"querySetQueries[{i}].queryText", "missing query text")
            out.append({"qid": f"q{i + 1:04d}", "text": q["queryText"].strip(), "filters": {}})
        return out
    out = []
    seen: dict[str, int] = {}
    for no, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        if path.suffix.lower() in (".tsv", ".txt"):
            qid, sep, text = line.partition("\t")
            if not sep or not qid.strip() or not text.strip():
                raise EvalFileError(path, no, None, "expected 'qid<TAB>query text'")
            q = {"qid": qid.strip(), "text": text.strip(), "filters": {}}
        else:
            obj, err = parse_object(line)
            if obj is None:
                raise EvalFileError(path, no, None, err or "expected a JSON object")
            q = obj
            if q.get("qid") in (None, ""):
                raise EvalFileError(path, no, "qid", "missing query id")
            q["qid"] = str(q["qid"])
            if not (isinstance(q.get("text"), str) and q["text"].strip()) and not q.get("image"):
                raise EvalFileError(path, no, "text", "a query needs a 'text' or an 'image'")
            if not isinstance(q.get("filters", {}), dict):
                raise EvalFileError(path, no, "filters", "must be an object")
        if any(c.isspace() for c in q["qid"]):
            raise EvalFileError(path, no, "qid", f"query id {q['qid']!r} contains whitespace")
        if q["qid"] in seen:
            raise EvalFileError(path, no, "qid", f"duplicate query id (first on line {seen[q['qid']]})")
        seen[q["qid"]] = no
        out.append(q)
    return out


def write_queries(path: str | Path, queries: Iterable[dict[str, Any]]) -> None:
    with atomic_open(path) as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False, sort_keys=True) + "\n")


def align(judgments: Judgments, queries: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], Qrels, list[str]]:
    """Match judgments to queries -> (judged queries, qrels by the queries' qids, unmatched judged keys)."""
    if queries is None:
        if not judgments.texts:
            raise ValueError(f"{judgments.source}: these judgments carry no query texts; pass --queries")
        return judgments.queries(), judgments.qrels, []
    qrels: Qrels = {}
    if judgments.by_text:
        by_text = {normalise(judgments.texts[q]): q for q in judgments.qrels if q in judgments.texts}
        for q in queries:
            key = by_text.get(normalise(q.get("text") or ""))
            if key is None and q["qid"] in judgments.qrels:
                key = q["qid"]
            if key is not None:
                qrels[q["qid"]] = judgments.qrels[key]
        used = {normalise(q.get("text") or "") for q in queries} | {q["qid"] for q in queries}
        unmatched = [
            judgments.texts.get(k, k)
            for k in judgments.qrels
            if normalise(judgments.texts.get(k, "")) not in used and k not in used
        ]
    else:
        qrels = {q["qid"]: judgments.qrels[q["qid"]] for q in queries if q["qid"] in judgments.qrels}
        unmatched = sorted(set(judgments.qrels) - set(qrels))
    return [q for q in queries if q["qid"] in qrels], qrels, unmatched


# ------------------------------------------------------- judgments from attributes

LEXICON_FIELD = {
    "gender": "gender",
    "basecolour": "colour",
    "basecolor": "colour",
    "colour": "colour",
    "color": "colour",
    "usage": "usage",
    "season": "season",
}
UNISEX_MATCHES = {"men", "women"}


def _attr(p: Product, name: str) -> str | None:
    v = p.attributes.get(name)
    if v is None:
        low = name.lower()
        v = next((val for k, val in p.attributes.items() if k.lower() == low), None)
    v = str(v).strip() if v is not None else ""
    return v or None


def _product_type(p: Product, type_from: str) -> str | None:
    if type_from == "title":
        return lexicon.product_type(p.title)
    v = _attr(p, type_from)
    return (lexicon.product_type(v) or v.lower()) if v else None


def _same(fieldname: str, want: str, have: str | None) -> bool:
    if have is None:
        return False
    if want.lower() == have.lower():
        return True
    return fieldname.lower() == "gender" and have.lower() == "unisex" and want.lower() in UNISEX_MATCHES


def _wording(fieldname: str, value: str, lang: str) -> str | None:
    lf = LEXICON_FIELD.get(fieldname.lower(), fieldname)
    if lexicon.lookup(lf, value) is None:
        return value.lower() if lang == "en" else None
    return lexicon.wording(lf, value, lang)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def from_attributes(
    products: Iterable[Product],
    fields: Sequence[str] = ("gender", "baseColour"),
    type_from: str | None = "title",
    langs: Sequence[str] = ("en",),
    max_queries: int | None = 200,
    seed: int = 0,
    min_relevant: int = 3,
    max_share: float = 0.25,
    negatives: int = 50,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], Judgments]:
    """Attribute queries ("women blue jeans") with graded judgments from the catalog itself.

    Grade 2: every queried attribute and the type match. Grade 1: type and
    gender match (type alone when gender is not queried). Grade 0: up to
    `negatives` seeded near misses (same type, or same other attributes), so
    pooled ROC/AP have negatives. Unisex products match men's and women's
    queries. A combination is kept when at least `min_relevant` products match
    fully and at most `max_share` of the catalog is relevant; `max_queries`
    combinations are sampled with `seed` (each yields one query per language).
    """
    fields = [f for f in fields if f]
    products = list(products)
    if not fields and not type_from:
        raise ValueError("need at least one field or a product type source")
    rows: list[tuple[str, tuple[str | None, ...], str | None]] = []
    for p in products:
        ptype = _product_type(p, type_from) if type_from else None
        rows.append((p.id, tuple(_attr(p, f) for f in fields), ptype))
    by_type: dict[str | None, list[int]] = defaultdict(list)
    for i, (_, _, t) in enumerate(rows):
        by_type[t].append(i)
    combos: dict[tuple[tuple[str, ...], str | None], int] = defaultdict(int)
    for _, vals, t in rows:
        if all(vals) and (t or not type_from):
            combos[(tuple(v for v in vals if v), t)] += 1
    gender_idx = next((i for i, f in enumerate(fields) if f.lower() == "gender"), None)
    candidates = sorted(c for c, n in combos.items() if n >= min_relevant)
    rng = random.Random(seed)
    rng.shuffle(candidates)  # seeded order; keep the first max_queries that qualify
    it: Iterable = candidates
    if progress:
        from tqdm import tqdm

        it = tqdm(candidates, desc="judging", unit="combo", disable=None)
    limit = len(products) * max_share
    kept: list[tuple[tuple[str, ...], str | None, dict[str, int]]] = []
    for vals, t in it:
        if max_queries is not None and len(kept) >= max_queries:
            break
        pool = by_type[t] if type_from else range(len(rows))
        grades: dict[str, int] = {}
        for i in pool:
            pid, pvals, _ = rows[i]
            if all(_same(f, v, pv) for f, v, pv in zip(fields, vals, pvals)):
                grades[pid] = 2
            elif gender_idx is None or _same("gender", vals[gender_idx], pvals[gender_idx]):
                grades[pid] = 1
        full = sum(1 for g in grades.values() if g == 2)
        if full < min_relevant or len(grades) > limit:
            continue
        near = [rows[i][0] for i in pool if rows[i][0] not in grades]
        near += [
            pid
            for pid, pvals, pt in rows
            if pt != t and pid not in grades and all(_same(f, v, pv) for f, v, pv in zip(fields, vals, pvals))
        ]
        near = sorted(set(near))
        for pid in rng.sample(near, min(negatives, len(near))):
            grades[pid] = 0
        kept.append((vals, t, grades))
    kept.sort(key=lambda k: (k[0], k[1] or ""))
    queries: list[dict[str, Any]] = []
    qrels: Qrels = {}
    texts: dict[str, str] = {}
    for vals, t, grades in kept:
        for lang in langs:
            words = [_wording(f, v, lang) for f, v in zip(fields, vals)]
            if type_from:
                assert t is not None, "combinations are only kept with a type when there is a type source"
                words.append(_wording("type", t, lang) if lang != "en" else lexicon.wording("type", t, "en"))
            present = [w for w in words if w is not None]
            if len(present) < len(words):
                continue  # no wording in this language; skip rather than mix languages
            text = ("" if lang == "zh" else " ").join(present)
            en = " ".join(lexicon.wording(LEXICON_FIELD.get(f.lower(), f), v, "en") for f, v in zip(fields, vals))
            qid = "attr-" + _slug(en + " " + (t or "")) + ("" if lang == "en" else f"-{lang}")
            queries.append({"qid": qid, "text": text, "lang": lang, "filters": {}})
            qrels[qid] = dict(grades)
            texts[qid] = text
    return queries, Judgments(qrels, texts, "attributes")


__all__ = [
    "Judgments",
    "align",
    "from_attributes",
    "load_csv",
    "load_judgments",
    "load_queries",
    "load_srw",
    "normalise",
    "parse_grade_map",
    "write_queries",
    "write_qrels",
]

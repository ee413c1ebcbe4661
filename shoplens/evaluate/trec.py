"""TREC run and qrels files.

Readers are strict because a silently mis-parsed line changes every metric:
each error names the file, the 1-based line and the field. Runs keep only
scores; the rank column is ignored exactly as trec_eval ignores it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import EvalFileError  # noqa: F401  (re-exported)
from ..fsutil import atomic_open

Run = dict[str, dict[str, float]]  # qid -> docid -> score
Qrels = dict[str, dict[str, int]]  # qid -> docid -> grade

RUN_FIELDS = ("qid", "Q0", "docid", "rank", "score", "tag")
QRELS_FIELDS = ("qid", "iteration", "docid", "grade")


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    if not path.is_file():
        raise EvalFileError(path, None, None, "file not found")
    with open(path, encoding="utf-8-sig") as f:
        for no, line in enumerate(f, start=1):
            parts = line.split()
            if parts and not parts[0].startswith("#"):
                yield no, parts


def parse_grade(text: str, file: str | Path, line: int | None, field: str = "grade") -> int:
    """Integer grade; integral floats ('2.0', '100.000') are accepted, anything else is an error."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise EvalFileError(file, line, field, f"not a number: {text!r}") from None
    if not math.isfinite(v) or not v.is_integer():
        raise EvalFileError(
            file,
            line,
            field,
            f"grades must be integers (trec_eval semantics), got {text!r}; use a grade map or scale to convert",
        )
    return int(v)


def read_run(path: str | Path) -> Run:
    """`qid Q0 docid rank score tag` lines -> {qid: {docid: score}}; a docid twice in a query is an error."""
    path = Path(path)
    run: Run = {}
    seen: dict[tuple[str, str], int] = {}
    for no, parts in _lines(path):
        if len(parts) != 6:
            raise EvalFileError(path, no, None, f"expected 6 fields ({' '.join(RUN_FIELDS)}), got {len(parts)}")
        qid, _, doc, rank, score, _tag = parts
        try:
            int(rank)
        except ValueError:
            raise EvalFileError(path, no, "rank", f"not an integer: {rank!r}") from None
        try:
            s = float(score)
        except ValueError:
            raise EvalFileError(path, no, "score", f"not a number: {score!r}") from None
        if not math.isfinite(s):
            raise EvalFileError(path, no, "score", f"not a finite number: {score!r}")
        if (qid, doc) in seen:
            raise EvalFileError(
                path, no, "docid", f"document {doc!r} already listed for query {qid!r} on line {seen[qid, doc]}"
            )
        seen[qid, doc] = no
        run.setdefault(qid, {})[doc] = s
    return run


def read_qrels(path: str | Path) -> Qrels:
    """`qid iteration docid grade` lines -> {qid: {docid: grade}}."""
    path = Path(path)
    qrels: Qrels = {}
    seen: dict[tuple[str, str], int] = {}
    for no, parts in _lines(path):
        if len(parts) != 4:
            raise EvalFileError(path, no, None, f"expected 4 fields ({' '.join(QRELS_FIELDS)}), got {len(parts)}")
        qid, _, doc, grade = parts
        g = parse_grade(grade, path, no)
        if (qid, doc) in seen:
            raise EvalFileError(
                path, no, "docid", f"document {doc!r} already judged for query {qid!r} on line {seen[qid, doc]}"
            )
        seen[qid, doc] = no
        qrels.setdefault(qid, {})[doc] = g
    return qrels


def _check_token(value: str, what: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{what} {value!r} cannot be written to a TREC file (empty or contains whitespace)")
    return value


def ranked(docs: dict[str, float]) -> list[tuple[str, float]]:
    """trec_eval's order: score descending, ties by docid descending (strcmp order)."""
    return sorted(docs.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)


def write_run(path: str | Path, run: Run, tag: str = "shoplens") -> None:
    """Write in trec_eval order with ranks 1..n, queries sorted, so equal runs give equal bytes."""
    _check_token(tag, "run tag")
    with atomic_open(path) as f:
        for qid in sorted(run):
            _check_token(qid, "query id")
            for rank, (doc, score) in enumerate(ranked(run[qid]), start=1):
                f.write(f"{qid} Q0 {_check_token(doc, 'document id')} {rank} {float(score)!r} {tag}\n")


def write_qrels(path: str | Path, qrels: Qrels) -> None:
    with atomic_open(path) as f:
        for qid in sorted(qrels):
            _check_token(qid, "query id")
            for doc in sorted(qrels[qid]):
                f.write(f"{qid} 0 {_check_token(doc, 'document id')} {int(qrels[qid][doc])}\n")


def run_from_hits(results: Iterable[tuple[str, Iterable[tuple[str, float]]]]) -> tuple[Run, list[str]]:
    """(qid, ranked [(docid, score), ...]) -> (Run, qids whose scores were replaced by rank scores).

    trec_eval re-sorts by score, so when an engine's displayed order disagrees
    with its scores (ties, re-ranking) the scores are replaced by n-rank: the
    evaluation then measures what users see. A repeated docid keeps its first rank.
    """
    run: Run = {}
    rescored: list[str] = []
    for qid, hits in results:
        ordered: list[tuple[str, float]] = []
        seen: set[str] = set()
        for doc, score in hits:
            if str(doc) not in seen:
                seen.add(str(doc))
                ordered.append((str(doc), float(score)))
        docs = dict(ordered)
        if [d for d, _ in ranked(docs)] != [d for d, _ in ordered]:
            rescored.append(qid)
            docs = {d: float(len(ordered) - i) for i, (d, _) in enumerate(ordered)}
        run[qid] = docs
    return run, rescored

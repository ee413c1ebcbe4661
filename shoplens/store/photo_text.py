"""Text read from each product's photos, kept in the generation's products.sqlite (table `photo_text`)
so that search can say which printed words a hit matched; its BM25 index lives in `lexical_ocr/`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

PHOTO_TEXT_LEXICAL = "lexical_ocr"


def write_photo_text(db_path: Path, texts: Sequence[str]) -> None:
    db = sqlite3.connect(str(db_path))
    try:
        db.execute("CREATE TABLE IF NOT EXISTS photo_text (doc INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        db.executemany("INSERT INTO photo_text VALUES (?,?)", [(d, t) for d, t in enumerate(texts) if t])
        db.commit()
    finally:
        db.close()


def read_photo_text(db: sqlite3.Connection, docs: Iterable[int]) -> dict[int, str]:
    """doc -> its photo text, for the docs that have some (none in a store built without OCR)."""
    docs = [int(d) for d in docs]
    if not docs:
        return {}
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='photo_text'").fetchone() is None:
        return {}
    q = f"SELECT doc, text FROM photo_text WHERE doc IN ({','.join('?' * len(docs))})"
    return dict(db.execute(q, docs))

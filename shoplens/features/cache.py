"""Persistent encoder-feature cache (SQLite).

Encoding is the only expensive step of a build, so every vector is cached by
(encoder fingerprint, content hash). An interrupted build resumes from what
was committed, re-indexing unchanged products costs nothing, and alignment
can retrain heads without touching an encoder.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ..encoders.base import Encoder, TextMode


def text_key(text: str, mode: str) -> str:
    return hashlib.sha1(f"{mode}\x00{text}".encode()).hexdigest()


def file_key(path: str | Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class FeatureCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS feats (fp TEXT, key TEXT, vec BLOB, PRIMARY KEY (fp, key))")
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def get_many(self, fp: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(uniq), 900):  # SQLite parameter limit
                chunk = uniq[i : i + 900]
                q = f"SELECT key, vec FROM feats WHERE fp=? AND key IN ({','.join('?' * len(chunk))})"
                for key, blob in self._db.execute(q, [fp, *chunk]):
                    out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, fp: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(fp, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO feats VALUES (?,?,?)", rows)
            self._db.commit()  # one commit per batch: the unit an interrupted build resumes from

    def rows(self) -> list[tuple[str, str, bytes]]:
        """Every (fingerprint, key, float32 bytes) held: what a Ray encoder actor's scratch cache sends back."""
        with self._lock:
            return list(self._db.execute("SELECT fp, key, vec FROM feats"))

    def put_rows(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """Store (fingerprint, key, float32 bytes) rows as they came from another cache; one commit."""
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO feats VALUES (?,?,?)", list(rows))
            self._db.commit()

    def encode_keyed(
        self,
        encoder: Encoder,
        keys: Sequence[str],
        compute: Callable[[list[int]], np.ndarray],
        batch_size: int,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Fill a (len(keys), dim) matrix from the cache, computing misses batch by batch via `compute(indices)`."""
        fp = encoder.fingerprint()
        have = self.get_many(fp, keys)
        out = np.zeros((len(keys), encoder.dim), dtype=np.float32)
        missing: list[int] = []
        first_for_key: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in have:
                out[i] = have[k]
            elif k not in first_for_key:
                first_for_key[k] = i
                missing.append(i)
        if progress and len(keys) - len(missing):
            progress(len(keys) - len(missing))
        for s in range(0, len(missing), batch_size):
            idx = missing[s : s + batch_size]
            vecs = compute(idx)
            self.put_many(fp, [(keys[i], v) for i, v in zip(idx, vecs)])
            for i, v in zip(idx, vecs):
                out[i] = v
            if progress:
                progress(len(idx))
        for i, k in enumerate(keys):  # duplicates of a computed key
            if k in first_for_key and i != first_for_key[k]:
                out[i] = out[first_for_key[k]]
        return out

    def encode_texts(
        self,
        encoder: Encoder,
        texts: Sequence[str],
        mode: TextMode = "passage",
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        if not getattr(encoder, "asymmetric", True):
            mode = "passage"  # a symmetric model gives both modes the same vector: one cache entry
        keys = [text_key(t, mode) for t in texts]
        return self.encode_keyed(
            encoder, keys, lambda idx: encoder.encode([texts[i] for i in idx], mode=mode), batch_size, progress
        )

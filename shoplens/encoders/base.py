"""The Encoder interface every model plugs in through.

An encoder turns a batch of already-decoded inputs (strings for text, RGB
PIL images for images) into an L2-normalised float32 matrix. It carries a
`fingerprint` (hash of its weights + preprocessing version) that the store
manifest records, so vectors made by different models are never mixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Modality = Literal["text", "image"]
TextMode = Literal["query", "passage"]


@runtime_checkable
class Encoder(Protocol):
    name: str  # short stable id, e.g. "e5", "mobilenet_v2"
    modality: Modality

    @property
    def dim(self) -> int:
        """Vector width; read-only here because some encoders only learn it from their model file."""
        ...

    def fingerprint(self) -> str:
        """Stable hash of weights + preprocessing; changes => vectors must be rebuilt."""
        ...

    def encode(self, items: Sequence, *, mode: TextMode = "passage") -> np.ndarray:
        """(len(items), dim) float32, rows L2-normalised. `mode` matters for text only."""
        ...


class ArrayImageEncoder(Encoder, Protocol):
    """An image CNN that also takes preprocessed arrays, so the build can resize and normalise
    photos on its decode thread (once per input size) while ONNX Runtime runs the last batch."""

    size: int
    resize: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    batch_size: int

    def encode_arrays(self, batch: np.ndarray) -> np.ndarray: ...


def l2_normalise(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, eps)


def file_fingerprint(path: str | Path, extra: str = "") -> str:
    """sha1 of a weights file (streamed) plus a preprocessing tag."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    h.update(extra.encode())
    return h.hexdigest()[:16]

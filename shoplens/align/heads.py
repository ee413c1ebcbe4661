"""Trained projection heads: frozen encoder features -> one shared text/image space.

Inference is numpy-only (torch is needed for training, never at search time).
A head is: per-input centring and scaling, concatenation, a linear map to
`dim`, an optional residual MLP block, and L2 normalisation:

    x  = concat_e((f_e - mean_e) * scale_e)
    z  = x @ W + b
    z  = z + gelu(z @ W1 + b1) @ W2 + b2          (only if the head has a block)
    out = z / |z|

Heads are saved as a small directory: `heads.npz` (float16 weights) and
`heads.json` (version, fingerprint, inputs and their encoder fingerprints,
dims, text query mode, training recipe, seed, metrics, provenance). Each file
is written atomically, the JSON last, and the JSON carries the fingerprint of
the weights so a half-replaced pair is detected on load.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

FORMAT_VERSION = 1
WEIGHTS_FILE = "heads.npz"
META_FILE = "heads.json"
CURRENT_FILE = "CURRENT"


class HeadsError(RuntimeError):
    pass


def default_heads_path() -> Path:
    """The heads shipped with shoplens (trained on the shared fashion catalog)."""
    return Path(__file__).resolve().parent / "default_heads"


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def _l2(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(n > 1e-12, x / np.maximum(n, 1e-12), 0.0).astype(np.float32)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@dataclass
class Tower:
    """One side (image or text): inputs -> shared space."""

    inputs: list[str]                       # encoder names, in concatenation order
    input_dims: list[int]
    means: list[np.ndarray]                 # per-input centring vectors
    scales: list[float]                     # per-input scalar scales
    W: np.ndarray                           # (sum(input_dims), dim)
    b: np.ndarray                           # (dim,)
    block: dict[str, np.ndarray] | None = None   # W1 (dim,h), b1, W2 (h,dim), b2

    def embed(self, feats: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [n for n in self.inputs if n not in feats]
        if missing:
            raise HeadsError(f"heads need features from encoder(s) {missing}; got {sorted(feats)}")
        mats = []
        rows = None
        for name, d, mu, s in zip(self.inputs, self.input_dims, self.means, self.scales):
            f = np.asarray(feats[name], dtype=np.float32)
            if f.ndim == 1:
                f = f[None, :]
            if f.shape[1] != d:
                raise HeadsError(f"encoder '{name}' gives {f.shape[1]}-d features, heads expect {d}-d")
            if rows is None:
                rows = f.shape[0]
            elif f.shape[0] != rows:
                raise HeadsError("feature matrices have different numbers of rows")
            mats.append(f)
        present = np.zeros(rows or 0, bool)
        for f in mats:
            present |= np.abs(f).sum(axis=1) > 0
        x = np.concatenate([(f - mu) * s for f, mu, s in zip(mats, self.means, self.scales)], axis=1)
        z = x @ self.W + self.b
        if self.block is not None:
            z = z + _gelu(z @ self.block["W1"] + self.block["b1"]) @ self.block["W2"] + self.block["b2"]
        out = _l2(z)
        out[~present] = 0.0          # a row with no features at all (no image / no text) stays empty
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        d = {f"{prefix}.W": self.W, f"{prefix}.b": self.b}
        for name, mu in zip(self.inputs, self.means):
            d[f"{prefix}.mean.{name}"] = mu
        if self.block is not None:
            for k, v in self.block.items():
                d[f"{prefix}.block.{k}"] = v
        return d

    @classmethod
    def from_arrays(cls, prefix: str, meta: dict[str, Any], arrs: Mapping[str, np.ndarray]) -> "Tower":
        inputs = list(meta["inputs"])
        block = None
        if f"{prefix}.block.W1" in arrs:
            block = {k: arrs[f"{prefix}.block.{k}"].astype(np.float32) for k in ("W1", "b1", "W2", "b2")}
        return cls(inputs=inputs, input_dims=[int(x) for x in meta["input_dims"]],
                   means=[arrs[f"{prefix}.mean.{n}"].astype(np.float32) for n in inputs],
                   scales=[float(s) for s in meta["scales"]],
                   W=arrs[f"{prefix}.W"].astype(np.float32), b=arrs[f"{prefix}.b"].astype(np.float32),
                   block=block)


@dataclass
class Heads:
    image: Tower
    text: Tower
    dim: int = 256
    text_mode: str = "passage"              # e5 mode to encode query text with
    input_fingerprints: dict[str, str] = field(default_factory=dict)   # encoder name -> fingerprint
    # Optional multi-task attribute classifiers on the image embedding: field -> (classes, W, b).
    classifiers: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)     # recipe, seed, metrics, provenance, ...

    # ------------------------------------------------------------------ inference
    @property
    def image_inputs(self) -> list[str]:
        return list(self.image.inputs)

    @property
    def text_inputs(self) -> list[str]:
        return list(self.text.inputs)

    def embed_image(self, feats: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n, dim) L2-normalised; rows whose features are all zero come back as zeros."""
        return self.image.embed(feats)

    def embed_text(self, feats: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n, dim) L2-normalised; encode query text with mode=`self.text_mode`."""
        return self.text.embed(feats)

    def predict_attributes(self, image_emb: np.ndarray, min_prob: float = 0.0
                           ) -> list[dict[str, tuple[str, float]]]:
        """Per row: field -> (most likely value, probability), from the multi-task classifiers."""
        out: list[dict[str, tuple[str, float]]] = [dict() for _ in range(len(image_emb))]
        for fld, (classes, W, b) in self.classifiers.items():
            logits = np.asarray(image_emb, np.float32) @ W + b
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            k = p.argmax(axis=1)
            for i, (j, pj) in enumerate(zip(k, p[np.arange(len(k)), k])):
                if pj >= min_prob:
                    out[i][fld] = (classes[int(j)], float(pj))
        return out

    def attribute_log_probs(self, image_emb: np.ndarray, wanted: Mapping[str, str]) -> np.ndarray:
        """(n,) sum over the wanted lexicon fields (e.g. {"colour": "Black", "type": "shoes"}) of
        log P(value | image) from the multi-task classifiers; fields or values the classifiers do
        not know contribute 0. Lets search boost photo-only products by what the shopper asked for."""
        emb = np.asarray(image_emb, np.float32)
        out = np.zeros(len(emb), np.float32)
        for fld, value in wanted.items():
            if fld not in self.classifiers:
                continue
            classes, W, b = self.classifiers[fld]
            try:
                j = classes.index(value)
            except ValueError:
                continue
            logits = emb @ W + b
            m = logits.max(axis=1, keepdims=True)
            lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
            out += logits[:, j] - lse
        present = np.abs(emb).sum(axis=1) > 0
        out[~present] = 0.0
        return out

    def check_compatible(self, fingerprints: Mapping[str, str]) -> list[str]:
        """Names of inputs whose encoder fingerprint differs from the one the heads were trained on."""
        return [n for n, fp in self.input_fingerprints.items()
                if n in fingerprints and fingerprints[n] != fp]

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        arrs = {**self.image.arrays("image"), **self.text.arrays("text")}
        for fld, (_classes, W, b) in self.classifiers.items():
            arrs[f"cls.{fld}.W"], arrs[f"cls.{fld}.b"] = W, b
        return {k: np.asarray(v, np.float32).astype(np.float16) for k, v in sorted(arrs.items())}

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha1()
        for k, v in self._arrays().items():
            h.update(k.encode())
            h.update(np.ascontiguousarray(v).tobytes())
        h.update(json.dumps({"image": self.image.inputs, "text": self.text.inputs, "mode": self.text_mode,
                             "scales": [self.image.scales, self.text.scales],
                             "inputs": self.input_fingerprints}, sort_keys=True).encode())
        return h.hexdigest()[:16]

    def metadata(self) -> dict[str, Any]:
        m = dict(self.meta)
        m.update({
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "dim": self.dim,
            "text_mode": self.text_mode,
            "image": {"inputs": self.image.inputs, "input_dims": self.image.input_dims,
                      "scales": self.image.scales, "block": self.image.block is not None},
            "text": {"inputs": self.text.inputs, "input_dims": self.text.input_dims,
                     "scales": self.text.scales, "block": self.text.block is not None},
            "input_fingerprints": dict(self.input_fingerprints),
            "classifiers": {f: c for f, (c, _W, _b) in self.classifiers.items()},
        })
        return m

    def save(self, path: str | Path) -> Path:
        """Write `path/heads.npz` then `path/heads.json` (each atomically)."""
        path = Path(path)
        buf = io.BytesIO()
        np.savez_compressed(buf, **self._arrays())
        _atomic_write(path / WEIGHTS_FILE, buf.getvalue())
        meta = self.metadata()
        meta["weights_sha1"] = hashlib.sha1(buf.getvalue()).hexdigest()
        _atomic_write(path / META_FILE, (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True)
                                         + "\n").encode("utf-8"))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Heads":
        """Load heads from a directory holding heads.json/heads.npz, or from a versioned
        store directory whose CURRENT file names the version to use."""
        path = Path(path)
        if (path / CURRENT_FILE).is_file() and not (path / META_FILE).is_file():
            path = path / (path / CURRENT_FILE).read_text().strip()
        meta_p, w_p = path / META_FILE, path / WEIGHTS_FILE
        if not meta_p.is_file() or not w_p.is_file():
            raise HeadsError(f"no trained heads in {path} (expected {META_FILE} and {WEIGHTS_FILE})")
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise HeadsError(f"{path}: heads format {meta.get('format_version')} is newer than this "
                             f"shoplens understands ({FORMAT_VERSION})")
        raw = w_p.read_bytes()
        if meta.get("weights_sha1") and hashlib.sha1(raw).hexdigest() != meta["weights_sha1"]:
            raise HeadsError(f"{path}: {WEIGHTS_FILE} does not match {META_FILE} (interrupted save?)")
        with np.load(io.BytesIO(raw)) as z:
            arrs = {k: z[k] for k in z.files}
        classifiers = {f: (list(c), arrs[f"cls.{f}.W"].astype(np.float32), arrs[f"cls.{f}.b"].astype(np.float32))
                       for f, c in (meta.get("classifiers") or {}).items()}
        keep = {k: v for k, v in meta.items() if k not in {
            "format_version", "fingerprint", "dim", "text_mode", "image", "text", "input_fingerprints",
            "classifiers", "weights_sha1"}}
        heads = cls(image=Tower.from_arrays("image", meta["image"], arrs),
                    text=Tower.from_arrays("text", meta["text"], arrs),
                    dim=int(meta["dim"]), text_mode=meta.get("text_mode", "passage"),
                    input_fingerprints=dict(meta.get("input_fingerprints") or {}),
                    classifiers=classifiers, meta=keep)
        if meta.get("fingerprint") and heads.fingerprint != meta["fingerprint"]:
            raise HeadsError(f"{path}: weights fingerprint {heads.fingerprint} != recorded {meta['fingerprint']}")
        return heads

    def quantised(self) -> "Heads":
        """A copy whose weights are rounded to float16 exactly as `save` stores them."""
        def q(a):
            return None if a is None else np.asarray(a, np.float32).astype(np.float16).astype(np.float32)

        def qt(t: Tower) -> Tower:
            return Tower(t.inputs, t.input_dims, [q(m) for m in t.means], list(t.scales), q(t.W), q(t.b),
                         None if t.block is None else {k: q(v) for k, v in t.block.items()})
        return Heads(qt(self.image), qt(self.text), self.dim, self.text_mode, dict(self.input_fingerprints),
                     {f: (c, q(W), q(b)) for f, (c, W, b) in self.classifiers.items()}, dict(self.meta))

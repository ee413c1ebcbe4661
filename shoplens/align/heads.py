"""Trained projection heads: frozen encoder features -> one shared text/image space.

Inference is numpy-only (torch is needed for training, never at search time).
A head is: per-input centring and scaling, concatenation, a linear map to
`dim`, an optional residual MLP block, and L2 normalisation:

    x  = concat_e((f_e - mean_e) * scale_e)
    z  = x @ W + b
    z  = z + gelu(z @ W1 + b1) @ W2 + b2          (only if the head has a block)
    out = z / |z|

An ensemble of G heads trained with different seeds (`ensemble_heads`) is the
same thing with `groups = G`: W is the members' maps side by side (a block
diagonal block, if any), each member's `dim / G` slice is L2-normalised on its
own and the concatenation is divided by sqrt(G), so the output is still one
unit vector and a dot product is the mean of the members' cosines.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import HeadsError  # noqa: F401  (re-exported)
from ..fsutil import write_atomic
from .attribute_mlp import AttributeMLP

if TYPE_CHECKING:
    from ..encoders.base import TextMode

# 2: towers may have `groups` > 1 (ensembles); single heads still write 1
# 3: an attribute MLP on the raw image features (attribute_mlp.py); heads without one write 1 or 2
FORMAT_VERSION = 3
WEIGHTS_FILE = "heads.npz"
META_FILE = "heads.json"
CURRENT_FILE = "CURRENT"
# what an ensemble member was trained for (heads.json "member_roles"; AlignConfig.title_members):
# search weights a query's members by the query's shape (search/members.py)
ROLE_ATTRIBUTES = "attributes"
ROLE_TITLE = "title"


def default_heads_path() -> Path:
    """The heads shipped with shoplens (trained on the shared fashion catalog)."""
    return Path(__file__).resolve().parent / "default_heads"


def previous_default_heads(fingerprint: str | None) -> Heads | None:
    """Earlier shipped heads (default_heads/previous/<fingerprint>/) that made `fingerprint`'s
    vectors, or declared those towers their own: a store built before an upgrade of the shipped
    heads keeps embedding queries in the space its vectors live in, instead of losing cross-modal
    search until it is re-indexed."""
    if not fingerprint:
        return None
    root = default_heads_path() / "previous"
    for d in sorted(root.iterdir()) if root.is_dir() else ():
        if d.name == fingerprint or fingerprint in _same_space_as(d):
            return Heads.load(d)
    return None


def _same_space_as(d: Path) -> list[str]:
    try:
        return list(json.loads((d / META_FILE).read_text(encoding="utf-8")).get("same_space_as") or ())
    except (OSError, ValueError):
        return []


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def _l2(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(n > 1e-12, x / np.maximum(n, 1e-12), 0.0).astype(np.float32)


@dataclass
class Tower:
    """One side (image or text): inputs -> shared space."""

    inputs: list[str]  # encoder names, in concatenation order
    input_dims: list[int]
    means: list[np.ndarray]  # per-input centring vectors
    scales: list[float]  # per-input scalar scales
    W: np.ndarray  # (sum(input_dims), dim)
    b: np.ndarray  # (dim,)
    block: dict[str, np.ndarray] | None = None  # W1 (dim,h), b1, W2 (h,dim), b2
    groups: int = 1  # ensemble members: slices of the output normalised separately

    def embed(self, feats: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [n for n in self.inputs if n not in feats]
        if missing:
            raise HeadsError(f"heads need features from encoder(s) {missing}; got {sorted(feats)}")
        mats = []
        rows = None
        for name, d in zip(self.inputs, self.input_dims):
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
        if self.groups > 1:
            n, d = z.shape
            z = _l2(z.reshape(n * self.groups, d // self.groups)).reshape(n, d) / np.sqrt(self.groups)
        out = _l2(z)
        out[~present] = 0.0  # a row with no features at all (no image / no text) stays empty
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
    def from_arrays(cls, prefix: str, meta: dict[str, Any], arrs: Mapping[str, np.ndarray]) -> Tower:
        inputs = list(meta["inputs"])
        block = None
        if f"{prefix}.block.W1" in arrs:
            block = {k: arrs[f"{prefix}.block.{k}"].astype(np.float32) for k in ("W1", "b1", "W2", "b2")}
        return cls(
            inputs=inputs,
            input_dims=[int(x) for x in meta["input_dims"]],
            means=[arrs[f"{prefix}.mean.{n}"].astype(np.float32) for n in inputs],
            scales=[float(s) for s in meta["scales"]],
            W=arrs[f"{prefix}.W"].astype(np.float32),
            b=arrs[f"{prefix}.b"].astype(np.float32),
            block=block,
            groups=int(meta.get("groups", 1)),
        )


@dataclass
class Heads:
    image: Tower
    text: Tower
    dim: int = 256
    text_mode: TextMode = "passage"  # e5 mode to encode query text with
    input_fingerprints: dict[str, str] = field(default_factory=dict)  # encoder name -> fingerprint
    # Optional multi-task attribute classifiers on the image embedding: field -> (classes, W, b).
    classifiers: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # recipe, seed, metrics, provenance, ...
    # Optional classifiers on the raw image features (align/attribute_mlp.py); search prefers them
    # for re-scoring when it can read a candidate's raw features.
    attribute_mlp: AttributeMLP | None = None

    # ------------------------------------------------------------------ inference
    @property
    def groups(self) -> int:
        """Ensemble members (1 for a single head)."""
        return int(self.image.groups)

    @property
    def member_roles(self) -> list[str]:
        """Each ensemble member's role (ROLE_ATTRIBUTES / ROLE_TITLE), or [] for heads whose
        members all play the same one (every heads file written before roles existed)."""
        roles = self.meta.get("member_roles") or []
        return [str(r) for r in roles] if len(roles) == self.groups > 1 else []

    def weight_members(self, vec: np.ndarray, role_weights: Mapping[str, float]) -> np.ndarray:
        """`vec` (a query in the shared space) with each member's block scaled so that its dot
        product with a stored vector is the weighted mean of the members' cosines (weights by
        role; a role not named weighs 1). Stored vectors stay as they are: a dot product is a sum
        over members, so one index serves every weighting, and scores keep the scale of the plain
        mean the confidence midpoints were fitted on. Heads without roles: `vec` unchanged."""
        roles = self.member_roles
        if not roles:
            return vec
        w = np.array([max(0.0, float(role_weights.get(r, 1.0))) for r in roles], np.float32)
        if w.sum() <= 0 or np.all(w == w[0]):
            return vec
        w *= len(w) / w.sum()
        return (np.asarray(vec, np.float32).reshape(len(w), -1) * w[:, None]).reshape(np.shape(vec))

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

    def predict_attributes(self, image_emb: np.ndarray, min_prob: float = 0.0) -> list[dict[str, tuple[str, float]]]:
        """Per row: field -> (most likely value, probability), from the attribute classifiers."""
        out: list[dict[str, tuple[str, float]]] = [dict() for _ in range(len(image_emb))]
        for fld, (classes, _W, _b) in self.classifiers.items():
            p = np.exp(self._log_probs(image_emb, fld))
            k = p.argmax(axis=1)
            for i, (j, pj) in enumerate(zip(k, p[np.arange(len(k)), k])):
                if pj >= min_prob:
                    out[i][fld] = (classes[int(j)], float(pj))
        return out

    def _log_probs(self, image_emb: np.ndarray, fld: str) -> np.ndarray:
        """(n, classes) log-softmax of field `fld`'s classifier on the image embeddings."""
        _classes, W, b = self.classifiers[fld]
        logits = np.asarray(image_emb, np.float32) @ W + b
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def attribute_log_probs(
        self,
        image_emb: np.ndarray,
        wanted: Mapping[str, str],
        floors: Mapping[str, float] | None = None,
        raw: Mapping[str, np.ndarray] | None = None,
        mlp_log_probs: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """(n,) sum over the wanted lexicon fields (e.g. {"colour": "Black", "type": "shoes"}) of
        log(floor + (1 - floor) * P(value | image)) from the attribute classifiers; fields or values
        the classifiers do not know contribute 0. Lets search rank photo-only products by what the
        shopper asked for.

        `floors` (field -> [0, 1)) makes a field a preference rather than a requirement: with a
        colour floor of 0.3, a red shoe for "black shoes" keeps 0.3 of a sure match's likelihood,
        while a black bag (type floor 0) is ruled out. Ranking by this sum ranks by the expected
        gain of a graded judgment (type+gender needed, colour a bonus) when the classifiers are
        calibrated.

        `raw` (encoder name -> the same rows' raw image features): with `attribute_mlp`, the fields
        it knows are read by it instead of the linear classifiers on the embedding.
        `mlp_log_probs`: the same, already computed (field -> (n, classes), `AttributeMLP.all_log_probs`)."""
        emb = np.asarray(image_emb, np.float32)
        out = np.zeros(len(emb), np.float32)
        mlp = self.attribute_mlp
        by_mlp: Mapping[str, np.ndarray] = mlp_log_probs or {}
        if mlp is not None and not by_mlp and raw is not None and set(mlp.inputs) <= set(raw):
            asked = [f for f, v in wanted.items() if v in mlp.classes.get(f, ())]
            by_mlp = mlp.all_log_probs(mlp.features(raw), asked) if asked else {}
        for fld, value in wanted.items():
            if fld in by_mlp and mlp is not None and value in mlp.classes[fld]:
                logp = by_mlp[fld][:, mlp.classes[fld].index(value)]
            elif fld not in self.classifiers or value not in self.classifiers[fld][0]:
                continue
            else:
                logp = self._log_probs(emb, fld)[:, self.classifiers[fld][0].index(value)]
            floor = float((floors or {}).get(fld, 0.0))
            if floor > 0:
                logp = np.log(floor + (1.0 - floor) * np.exp(logp))
            out += logp
        present = np.abs(emb).sum(axis=1) > 0
        out[~present] = 0.0
        return out

    def check_compatible(self, fingerprints: Mapping[str, str]) -> list[str]:
        """Names of inputs whose encoder fingerprint differs from the one the heads were trained on."""
        return [n for n, fp in self.input_fingerprints.items() if n in fingerprints and fingerprints[n] != fp]

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        arrs = {**self.image.arrays("image"), **self.text.arrays("text")}
        for fld, (_classes, W, b) in self.classifiers.items():
            arrs[f"cls.{fld}.W"], arrs[f"cls.{fld}.b"] = W, b
        if self.attribute_mlp is not None:  # "cls." like the linear classifiers: not part of the space
            arrs.update(self.attribute_mlp.arrays("cls.mlp"))
        return {k: np.asarray(v, np.float32).astype(np.float16) for k, v in sorted(arrs.items())}

    @property
    def fingerprint(self) -> str:
        """Identity of everything saved: both towers and the attribute classifiers."""
        return self._hash(self._arrays())

    @property
    def space_fingerprint(self) -> str:
        """Identity of the shared space alone (the towers). Stored aligned vectors stay valid while
        it holds: refitting only the attribute classifiers (read at search time) keeps it."""
        return self._hash({k: v for k, v in self._arrays().items() if not k.startswith("cls.")})

    def _hash(self, arrays: Mapping[str, np.ndarray]) -> str:
        h = hashlib.sha1()
        for k, v in arrays.items():
            h.update(k.encode())
            h.update(np.ascontiguousarray(v).tobytes())
        desc: dict[str, Any] = {
            "image": self.image.inputs,
            "text": self.text.inputs,
            "mode": self.text_mode,
            "scales": [self.image.scales, self.text.scales],
            "inputs": self.input_fingerprints,
        }
        if self.groups > 1:
            desc["groups"] = self.groups
        h.update(json.dumps(desc, sort_keys=True).encode())
        return h.hexdigest()[:16]

    def metadata(self) -> dict[str, Any]:
        m = dict(self.meta)
        m.update(
            {
                "format_version": 3 if self.attribute_mlp is not None else 1 if self.groups == 1 else 2,
                "fingerprint": self.fingerprint,
                "dim": self.dim,
                "text_mode": self.text_mode,
                "image": {
                    "inputs": self.image.inputs,
                    "input_dims": self.image.input_dims,
                    "scales": self.image.scales,
                    "block": self.image.block is not None,
                    "groups": self.image.groups,
                },
                "text": {
                    "inputs": self.text.inputs,
                    "input_dims": self.text.input_dims,
                    "scales": self.text.scales,
                    "block": self.text.block is not None,
                    "groups": self.text.groups,
                },
                "input_fingerprints": dict(self.input_fingerprints),
                "classifiers": {f: c for f, (c, _W, _b) in self.classifiers.items()},
                **({"attribute_mlp": self.attribute_mlp.metadata()} if self.attribute_mlp is not None else {}),
            }
        )
        return m

    def save(self, path: str | Path) -> Path:
        """Write `path/heads.npz` then `path/heads.json` (each atomically)."""
        path = Path(path)
        buf = io.BytesIO()
        # Any: mypy matches **arrays against savez_compressed's `allow_pickle: bool` too, not only its **kwds.
        arrays: dict[str, Any] = self._arrays()
        np.savez_compressed(buf, **arrays)
        write_atomic(path / WEIGHTS_FILE, buf.getvalue())
        meta = self.metadata()
        meta["weights_sha1"] = hashlib.sha1(buf.getvalue()).hexdigest()
        write_atomic(
            path / META_FILE, (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Heads:
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
            raise HeadsError(
                f"{path}: heads format {meta.get('format_version')} is newer than this "
                f"shoplens understands ({FORMAT_VERSION})"
            )
        raw = w_p.read_bytes()
        if meta.get("weights_sha1") and hashlib.sha1(raw).hexdigest() != meta["weights_sha1"]:
            raise HeadsError(f"{path}: {WEIGHTS_FILE} does not match {META_FILE} (interrupted save?)")
        with np.load(io.BytesIO(raw)) as z:
            arrs = {k: z[k] for k in z.files}
        classifiers = {
            f: (list(c), arrs[f"cls.{f}.W"].astype(np.float32), arrs[f"cls.{f}.b"].astype(np.float32))
            for f, c in (meta.get("classifiers") or {}).items()
        }
        keep = {
            k: v
            for k, v in meta.items()
            if k
            not in {
                "format_version",
                "fingerprint",
                "dim",
                "text_mode",
                "image",
                "text",
                "input_fingerprints",
                "classifiers",
                "attribute_mlp",
                "weights_sha1",
            }
        }
        heads = cls(
            image=Tower.from_arrays("image", meta["image"], arrs),
            text=Tower.from_arrays("text", meta["text"], arrs),
            dim=int(meta["dim"]),
            text_mode=meta.get("text_mode", "passage"),
            input_fingerprints=dict(meta.get("input_fingerprints") or {}),
            classifiers=classifiers,
            meta=keep,
            attribute_mlp=AttributeMLP.from_arrays("cls.mlp", meta["attribute_mlp"], arrs)
            if meta.get("attribute_mlp")
            else None,
        )
        if meta.get("fingerprint") and heads.fingerprint != meta["fingerprint"]:
            raise HeadsError(f"{path}: weights fingerprint {heads.fingerprint} != recorded {meta['fingerprint']}")
        return heads

    def quantised(self) -> Heads:
        """A copy whose weights are rounded to float16 exactly as `save` stores them."""

        def q(a):
            return None if a is None else np.asarray(a, np.float32).astype(np.float16).astype(np.float32)

        def qt(t: Tower) -> Tower:
            return Tower(
                t.inputs,
                t.input_dims,
                [q(m) for m in t.means],
                list(t.scales),
                q(t.W),
                q(t.b),
                None if t.block is None else {k: q(v) for k, v in t.block.items()},
                t.groups,
            )

        return Heads(
            qt(self.image),
            qt(self.text),
            self.dim,
            self.text_mode,
            dict(self.input_fingerprints),
            {f: (c, q(W), q(b)) for f, (c, W, b) in self.classifiers.items()},
            dict(self.meta),
        )


def _block_diag(mats: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((sum(m.shape[0] for m in mats), sum(m.shape[1] for m in mats)), np.float32)
    r = c = 0
    for m in mats:
        out[r : r + m.shape[0], c : c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out


def _ensemble_tower(towers: list[Tower]) -> Tower:
    t0 = towers[0]
    Ws, bs = [], []
    for t in towers:
        if t.inputs != t0.inputs or t.input_dims != t0.input_dims:
            raise HeadsError("ensemble members read different inputs")
        if t.groups != 1:
            raise HeadsError("ensemble members must be single heads")
        if t.W.shape[1] != t0.W.shape[1]:
            raise HeadsError("ensemble members must have the same output dimension")
        if (t.block is None) != (t0.block is None):
            raise HeadsError("ensemble members must all have (or all lack) a residual block")
        # Re-express the member on member 0's centring/scaling (exact, folded into W and b):
        # (f - mu_t) * s_t = ((f - mu_0) * s_0) * (s_t / s_0) + (mu_0 - mu_t) * s_t
        W, b = t.W.astype(np.float32).copy(), t.b.astype(np.float32).copy()
        off = 0
        for d, mu, s, mu0, s0 in zip(t.input_dims, t.means, t.scales, t0.means, t0.scales):
            rows = W[off : off + d]
            b = b + ((mu0 - mu) * s).astype(np.float32) @ rows
            W[off : off + d] = rows * (s / s0)
            off += d
        Ws.append(W)
        bs.append(b)
    block = None
    blocks = [t.block for t in towers if t.block is not None]  # all or none (checked above)
    if blocks:
        block = {
            "W1": _block_diag([b["W1"] for b in blocks]),
            "b1": np.concatenate([b["b1"] for b in blocks]),
            "W2": _block_diag([b["W2"] for b in blocks]),
            "b2": np.concatenate([b["b2"] for b in blocks]),
        }
    return Tower(
        list(t0.inputs),
        list(t0.input_dims),
        [m.copy() for m in t0.means],
        list(t0.scales),
        np.concatenate(Ws, axis=1),
        np.concatenate(bs),
        block,
        groups=len(towers),
    )


def ensemble_heads(members: list[Heads], roles: list[str] | None = None) -> Heads:
    """One `Heads` whose embedding is the members' L2-normalised embeddings concatenated and
    divided by sqrt(len(members)) (so cosine = mean of the members' cosines). Members must read
    the same inputs with the same e5 mode; their attribute classifiers are averaged (in logit
    space, exactly, as one linear map on the ensemble embedding). `roles`: one per member, when
    they differ (`Heads.member_roles`)."""
    if not members:
        raise HeadsError("no heads to ensemble")
    if roles is not None and len(roles) != len(members):
        raise HeadsError(f"{len(roles)} roles for {len(members)} ensemble members")
    if len(members) == 1:
        return members[0]
    h0 = members[0]
    for h in members[1:]:
        if h.text_mode != h0.text_mode or h.input_fingerprints != h0.input_fingerprints:
            raise HeadsError("ensemble members differ in e5 mode or encoder fingerprints")
    g = len(members)
    classifiers = {}
    for fld, (classes, _W, _b) in h0.classifiers.items():
        if all(fld in h.classifiers and h.classifiers[fld][0] == classes for h in members):
            classifiers[fld] = (
                list(classes),
                np.concatenate([h.classifiers[fld][1] for h in members], axis=0) / np.sqrt(g),
                np.mean([h.classifiers[fld][2] for h in members], axis=0),
            )
    meta = dict(h0.meta)
    meta["ensemble"] = {"members": g, "seeds": [h.meta.get("seed") for h in members]}
    meta.pop("member_roles", None)
    if roles is not None and len(set(roles)) > 1:
        meta["member_roles"] = list(roles)
    return Heads(
        image=_ensemble_tower([h.image for h in members]),
        text=_ensemble_tower([h.text for h in members]),
        dim=sum(h.dim for h in members),
        text_mode=h0.text_mode,
        input_fingerprints=dict(h0.input_fingerprints),
        classifiers=classifiers,
        meta=meta,
    )


def ensemble_members(heads: Heads) -> list[Heads]:
    """The members of an ensemble as single heads (towers only: no classifiers, no MLP), so that
    members trained apart (e.g. title members beside attribute ones) can be put in one ensemble
    again by `ensemble_heads`. Exact: each member keeps the columns of the shared map it owns."""
    g = heads.groups
    if heads.image.block is not None or heads.text.block is not None:
        raise HeadsError("splitting ensembles with residual blocks is not supported")

    def part(t: Tower, m: int) -> Tower:
        d = t.W.shape[1] // g
        return Tower(
            list(t.inputs),
            list(t.input_dims),
            [x.copy() for x in t.means],
            list(t.scales),
            t.W[:, m * d : (m + 1) * d].copy(),
            t.b[m * d : (m + 1) * d].copy(),
        )

    seeds = (heads.meta.get("ensemble") or {}).get("seeds") or [None] * g
    return [
        Heads(
            part(heads.image, m),
            part(heads.text, m),
            heads.dim // g,
            heads.text_mode,
            dict(heads.input_fingerprints),
            {},
            {"seed": seeds[m]},
        )
        for m in range(g)
    ]

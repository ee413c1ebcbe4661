"""Versioned rankers under STORE/ranker/: `vNNNN/{model.onnx, state.pt, meta.json}` and `CURRENT`.

A ranker is fingerprinted by what its features read: the encoders and heads that made the store's
vectors, the vector fields' dims and sources, and the feature schema version. A store re-indexed
with other models gets a different fingerprint and its ranker is refused (search then runs without
re-ranking and says why) until `shoplens train-ranker` trains a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..store.layout import write_atomic
from ..store.manifest import Manifest
from .features import FEATURE_VERSION


def ranker_dir(store: Path) -> Path:
    return Path(store) / "ranker"


def fingerprint(manifest: Manifest) -> str:
    payload = {
        "encoders": {n: e.get("fingerprint") for n, e in sorted(manifest.encoders.items())},
        "fields": {n: [f.dim, f.source] for n, f in sorted(manifest.fields.items())},
        "heads": (manifest.heads or {}).get("fingerprint"),
        "feature_version": FEATURE_VERSION,
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def current_version(store: Path) -> Path | None:
    cur = ranker_dir(store) / "CURRENT"
    if not cur.is_file():
        return None
    path = ranker_dir(store) / cur.read_text().strip()
    if not (path / "meta.json").is_file():
        raise StoreError(f"{cur} names {path.name}, which is missing; re-run `shoplens train-ranker`")
    return path


def read_meta(version_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((version_dir / "meta.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise StoreError(f"{version_dir / 'meta.json'}: unreadable ({e}); re-run `shoplens train-ranker`") from e


def publish(store: Path, build: Any, keep: int = 3) -> Path:
    """Write a new version with `build(tmp_dir) -> meta`, then switch CURRENT to it atomically."""
    root = ranker_dir(store)
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name[1:]) for p in root.glob("v[0-9]*") if p.name[1:].isdigit()]
    name = f"v{max(taken, default=0) + 1:04d}"
    tmp = root / f"{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    meta = build(tmp)
    meta["version"] = name
    write_atomic(tmp / "meta.json", json.dumps(meta, indent=2, sort_keys=True))
    os.replace(tmp, root / name)
    write_atomic(root / "CURRENT", name)
    for old in sorted(p for p in root.glob("v[0-9]*") if p.is_dir() and p.name[1:].isdigit())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return root / name

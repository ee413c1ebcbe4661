"""One code version's engine behind a pipe, for benchmarks/bench_quality_versions.py.

Run with PYTHONPATH set to a checkout of shoplens (any commit): this file imports nothing from
benchmarks/ (common.py would put this checkout first on sys.path), so `shoplens` is that checkout's.
It builds the store if asked, opens it, and answers one JSON request per stdin line with one JSON
line on its protocol fd (the process's original stdout; anything the library might print goes to
stderr). Timing is taken here, around `Engine.search` alone, so pipe and JSON costs are not in it.

Requests: {"op": "search", "text"?: str, "image_b64"?: str, "k": int, "only"?: component}
-> {"ids": [...], "ms": float, "top": {...}}; {"op": "quit"}.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    except OSError:
        return ""


def _fingerprints(engine: Any) -> dict[str, Any]:
    fps = {
        f"{kind}:{n}": e.fingerprint() for kind in ("text", "image") for n, e in getattr(engine.encoders, kind).items()
    }
    stored = {n: (v or {}).get("fingerprint") for n, v in (engine.reader.manifest.encoders or {}).items()}
    return {"encoders": fps, "stored": stored}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--catalog", type=Path, required=True)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--onnx-dir", type=Path, required=True)
    ap.add_argument("--build", action="store_true", help="index the catalog into the (seeded) store first")
    a = ap.parse_args()

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the protocol owns the real stdout
    sys.stdout = sys.stderr
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format=f"[{a.label}] %(asctime)s %(name)s %(levelname)s %(message)s"
    )

    logging.getLogger("faiss").setLevel(logging.WARNING)
    import shoplens
    from shoplens.config import BuildConfig, EncoderConfig, EngineConfig, SearchConfig
    from shoplens.engine import Engine

    repo = Path(shoplens.__file__).resolve().parents[1]
    config = EngineConfig(encoders=EncoderConfig(cache_dir=a.onnx_dir))
    build_s = 0.0
    if a.build:
        t0 = time.perf_counter()
        engine = Engine.build(a.catalog, a.store, config, BuildConfig(auto_align=False, progress=False))
        build_s = time.perf_counter() - t0
        engine.close()
    engine = Engine.open(a.store, config)
    engine.warm_up(images=True)
    engine.search(text="warm up", k=1)  # lazy loads are not part of quality or latency
    default_weights = dict(SearchConfig().weights)
    hello = {
        "label": a.label,
        "shoplens": str(repo),
        "commit": _commit(repo),
        "build_s": build_s,
        "products": len(engine.reader.products),
        "heads": (engine.manifest.heads or {}).get("source"),
        "fingerprints": _fingerprints(engine),
        "default_weights": default_weights,
    }
    proto.write(json.dumps(hello) + "\n")

    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        weights = None
        if req.get("only"):
            # every component this version knows is off but the one asked for ("alone" stays alone when
            # a version adds components)
            weights = {c: (1.0 if c == req["only"] else 0.0) for c in default_weights}
        image = base64.b64decode(req["image_b64"]) if req.get("image_b64") else None
        t0 = time.perf_counter()
        res = engine.search(text=req.get("text"), image=image, k=int(req.get("k", 10)), weights=weights)
        ms = (time.perf_counter() - t0) * 1000
        top = res.hits[0] if res.hits else None
        out = {
            "ids": list(res.ids),
            "ms": ms,
            "top": {"id": top.id, "components": {k: v.rank for k, v in top.components.items()}} if top else None,
        }
        proto.write(json.dumps(out) + "\n")
    engine.close()


if __name__ == "__main__":
    main()

"""Store directory layout and atomic generation switching.

    STORE/
      CURRENT              name of the live generation (replaced atomically)
      gen-000007/          one complete, immutable build
        manifest.json      schema version, encoders + fingerprints, fields, heads
        products.sqlite    products + attributes
        vectors/*.faiss    one faiss index per vector field (+ row->doc ids)
        lexical/           tantivy BM25 index
      cache/features.sqlite  encoder features, shared by all generations (resume)
      cache/onnx/          exported ONNX models
      heads/               alignment heads trained on this store (versioned)
      feedback.sqlite      behaviour log (UBI-style), outlives generations

Readers resolve CURRENT once and then only read that generation, so a build
running beside them is invisible until its final os.replace of CURRENT; an
interrupted build leaves a `*.tmp` generation that the next build deletes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError  # noqa: F401  (re-exported)
from ..fsutil import fsync_dir, write_atomic  # noqa: F401  (write_atomic re-exported)

# v2: the manifest records the image part weights and the settings fingerprint (store/migrate.py
# upgrades a v1 store).
SCHEMA_VERSION = 2

# Crash-test hook: `SHOPLENS_FAULT_AT=<step>` SIGKILLs the process at that step of writing or
# publishing a generation, so tests can prove a crash anywhere leaves a store that opens.
FAULT_ENV = "SHOPLENS_FAULT_AT"
WRITE_STEPS = ("after-products", "after-vectors", "after-lexical", "after-manifest")
PUBLISH_STEPS = ("after-rename", "after-current", "during-cleanup")


def fault_point(step: str) -> None:
    """Die here, as a power cut or `kill -9` would, when $SHOPLENS_FAULT_AT names `step`."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def current_generation(store: Path) -> Path | None:
    cur = store / "CURRENT"
    if not cur.is_file():
        return None
    gen = store / cur.read_text().strip()
    if not gen.is_dir():
        raise StoreError(f"{store}: CURRENT names {gen.name}, which is missing")
    return gen


def new_generation(store: Path) -> tuple[Path, Path]:
    """(tmp dir to write into, final dir name) for the next generation."""
    nums = [int(p.name.split("-")[1].split(".")[0]) for p in store.glob("gen-*") if p.name.split("-")[1][:6].isdigit()]
    final = store / f"gen-{max(nums, default=0) + 1:06d}"
    tmp = final.with_name(final.name + ".tmp")
    tmp.mkdir(parents=True)
    return tmp, final


def publish(store: Path, tmp: Path, final: Path, keep: int = 2) -> None:
    """Make `tmp` the live generation, then drop all but the newest `keep` generations."""
    for f in tmp.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(store)
    fault_point("after-rename")
    write_atomic(store / "CURRENT", final.name)
    fault_point("after-current")
    # only gen-NNNNNN: a stray "gen-old" (sorting after the digits) must not make cleanup drop the live one
    gens = sorted(p for p in store.glob("gen-*") if p.is_dir() and p.name[4:].isdigit())
    for old in gens[:-keep]:
        (old / "manifest.json").unlink(missing_ok=True)  # a half-deleted generation reads as incomplete
        fault_point("during-cleanup")
        shutil.rmtree(old, ignore_errors=True)


def clean_interrupted(store: Path) -> list[str]:
    """Remove half-written generations left by an interrupted build; returns their names."""
    gone = []
    for p in store.glob("gen-*.tmp"):
        shutil.rmtree(p, ignore_errors=True)
        gone.append(p.name)
    return gone


@contextmanager
def writer_lock(store: Path):
    """One writer per store; a second `index` fails fast instead of interleaving."""
    store.mkdir(parents=True, exist_ok=True)
    fh = open(store / ".lock", "w")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"{store}: another shoplens process is writing this store") from None
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()

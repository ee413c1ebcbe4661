"""Atomic file writes: the one way shoplens replaces a file.

A reader (a search beside a build, trec_eval on an exported run, a second
process exporting the same ONNX model) must see the old file or the new one,
never half of each. So every write goes to a uniquely named temporary file in
the same directory, is flushed to disk, and is renamed over the target; the
directory is synced so the rename itself survives a power cut. A failure at
any point removes the temporary file and leaves the target untouched.

A leaf module (standard library only) so that every layer, encoders included,
can use it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_open", "write_atomic", "fsync_dir"]


def fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a file name (e.g. torch.onnx.export);
    on success it replaces `path`. The name is unique (pid + random), so concurrent writers
    of the same target never write into one temporary file; the last rename wins whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """`open(path, mode)` whose result appears at `path` only when the block finishes without error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', not {mode!r}")
    with atomic_path(path) as tmp:
        # "x": the unique name must not exist; files get the usual 0666 & ~umask permissions.
        with open(tmp, mode.replace("w", "x"), encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()


def write_atomic(path: str | Path, data: bytes | str) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)

"""Schema migrations: a store built by an older shoplens is upgraded instead of rebuilt.

`MIGRATIONS` maps a schema version to the step that takes a generation to the next one; steps
run in order. A step that only rewrites the manifest can also run in memory, so an old store
stays readable (searchable) by this shoplens without being written to. `migrate_store` writes
the upgrade the way a build does: a new generation (files hard-linked from the live one, never
modified in place; a step that changes a file writes a new one and replaces the link) published
by the atomic switch of CURRENT, so a crash leaves the old generation live and whole. The old
generation is kept beside the new one.

Readers of an old store: searching works as before (manifest upgraded in memory); the first
`shoplens index` or `align` writes a current generation anyway; `shoplens migrate --store DIR`
upgrades in place without re-indexing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .layout import (
    SCHEMA_VERSION,
    StoreError,
    clean_interrupted,
    current_generation,
    new_generation,
    publish,
    write_atomic,
)
from .manifest import Manifest, read_manifest
from .schema import plan


def _link_tree(src: Path, dst: Path) -> None:
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:  # another file system, or links not allowed: copy
            shutil.copy2(path, target)


def migrate_store(store: Path, keep: int = 2) -> tuple[int, int, str | None]:
    """Upgrade the live generation to the current schema as a new generation. Returns (from
    version, to version, new generation name or None when already current). The caller holds
    the store's writer lock."""
    gen = current_generation(store) if store.is_dir() else None
    if gen is None:
        raise StoreError(f"{store}: no shoplens store here; nothing to migrate")
    d = read_manifest(gen)
    version = d.get("schema_version")
    steps = plan(version, gen)
    if not steps:
        return SCHEMA_VERSION, SCHEMA_VERSION, None
    assert isinstance(version, int), "plan() only finds steps from an int schema version"
    clean_interrupted(store)
    tmp, final = new_generation(store)
    try:
        _link_tree(gen, tmp)
        for step in steps:
            if step.files is not None:
                step.files(tmp, d)
            d = step.manifest(d)
        d["generation"] = final.name
        write_atomic(tmp / "manifest.json", Manifest.from_dict(d).to_json())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish(store, tmp, final, keep=max(keep, 2))  # the old generation stays beside the new one
    return int(version), SCHEMA_VERSION, final.name

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

REBUILD = "rebuild it with `shoplens index CATALOG --store {store} --rebuild`"

# What schema-v1 shoplens (0.1.0, features/combine.IMAGE_PART_WEIGHTS) combined image vectors with;
# parts not named weighed 1.
V1_IMAGE_PART_WEIGHTS = {"mobilenet_v2": 1.0, "efficientnet_lite0": 1.0, "colour": 0.5}


@dataclass(frozen=True)
class Migration:
    to: int
    why: str
    manifest: Callable[[dict[str, Any]], dict[str, Any]]
    # rewrites files in the new generation's directory; None: the manifest is all that changes
    files: Callable[[Path, dict[str, Any]], None] | None = None


def _v1_to_v2(d: dict[str, Any]) -> dict[str, Any]:
    source = str(d.get("fields", {}).get("image", {}).get("source", ""))
    parts = source.removeprefix("combined:").split("+") if source.startswith("combined:") else []
    return {
        **d,
        "schema_version": 2,
        "image_part_weights": {n: V1_IMAGE_PART_WEIGHTS.get(n, 1.0) for n in parts},
        "config_fingerprint": None,  # v1 did not record its settings
        "lexicon": None,
        "migrated_from": d.get("migrated_from") or 1,
    }


MIGRATIONS: dict[int, Migration] = {
    1: Migration(2, "the manifest records the image part weights and the settings fingerprint", _v1_to_v2),
}


def plan(version: Any, where: Path) -> list[Migration]:
    """The steps from `version` to the current schema, or a StoreError saying what to do instead."""
    store = where.parent
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: store schema v{version} was written by a newer shoplens (this one reads up to "
            f"v{SCHEMA_VERSION}); upgrade shoplens, or {REBUILD.format(store=store)}"
        )
    steps, v = [], version
    while v != SCHEMA_VERSION:
        step = MIGRATIONS.get(v) if isinstance(v, int) else None
        if step is None:
            raise StoreError(
                f"{where}: store schema v{version} cannot be upgraded to v{SCHEMA_VERSION}; "
                + REBUILD.format(store=store)
            )
        steps.append(step)
        v = step.to
    return steps


def upgrade_manifest(d: dict[str, Any], gen_dir: Path) -> dict[str, Any]:
    """An older manifest read as the current schema, in memory (nothing is written)."""
    for step in plan(d.get("schema_version"), gen_dir):
        if step.files is not None:
            raise StoreError(
                f"{gen_dir}: store schema v{d.get('schema_version')} needs its files upgraded "
                f"({step.why}); run `shoplens migrate --store {gen_dir.parent}`"
            )
        d = step.manifest(d)
    return d


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

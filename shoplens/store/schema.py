"""Schema steps: how a manifest written by an older shoplens reads as the current schema.

`MIGRATIONS` maps a schema version to the step that takes a generation to the next one; steps
run in order. A step that only rewrites the manifest also runs in memory (`upgrade_manifest`), so
an old store stays searchable without being written to; `migrate.py` writes the upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .layout import SCHEMA_VERSION, StoreError

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

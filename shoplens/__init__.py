"""shoplens: cross-modal product search over one embedded store.

The public entry point is :class:`shoplens.engine.Engine`; everything else is a
pipeline stage that the engine wires together.

Progress and warnings are logged to the `shoplens` logger hierarchy; a library
user sees nothing unless they configure logging (the `shoplens` command does).
Importing shoplens changes nothing else in the process: OpenMP's wait policy is
set only around the loads that need it (`shoplens.encoders.openmp`).
"""

import logging as _logging

_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__version__ = "0.1.0"

__all__ = ["Engine", "__version__"]


def __getattr__(name):
    # Lazy so `import shoplens` stays cheap (the CLI imports heavy stages on demand).
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(name)

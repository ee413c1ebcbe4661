"""shoplens: cross-modal product search over one embedded store.

The public entry point is :class:`shoplens.engine.Engine`; everything else is a
pipeline stage that the engine wires together.
"""
__version__ = "0.1.0"

__all__ = ["Engine", "__version__"]


def __getattr__(name):
    # Lazy so `import shoplens` stays cheap (the CLI imports heavy stages on demand).
    if name == "Engine":
        from .engine import Engine
        return Engine
    raise AttributeError(name)

"""The HTTP face of `Engine`: a FastAPI app (`create_app`), its web page and `shoplens serve`.

Only this package and `shoplens/cli/` sit above the engine; nothing in the library imports them.
"""

from .app import create_app

__all__ = ["create_app"]

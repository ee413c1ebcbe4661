"""The command line: argument parsing and printing only; the work is done by `shoplens.engine.Engine`."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]

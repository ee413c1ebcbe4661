"""User-facing errors: one base, so an interface can tell "the user's input is wrong" (a one-line
message, exit code 2, HTTP 4xx) from a bug in shoplens (a traceback, HTTP 500).

Every subclass's message names what was wrong (file, row, field, key) and what to do; none of
them is raised for a programming error inside shoplens.
"""

from __future__ import annotations

from pathlib import Path


class ShoplensError(Exception):
    """Base of every error whose message is the whole story for the user."""


class CatalogError(ShoplensError):
    """A catalog file cannot be read at all (one bad row is reported and skipped instead)."""


class QueryError(ShoplensError):
    """A query, filter or search option is invalid."""


class StoreError(ShoplensError):
    """A store directory is missing, locked, damaged or from an incompatible shoplens."""


class HeadsError(ShoplensError):
    """Alignment heads are missing, unreadable or do not fit the store's encoders."""


class TooFewPairs(HeadsError):
    """Too few image-title pairs to train alignment heads."""


class EvalFileError(ShoplensError):
    """A malformed evaluation input (run, qrels, query set, click log); str() reads
    'file, line N, field 'x': problem'."""

    def __init__(self, file: str | Path, line: int | None, field: str | None, message: str):
        self.file, self.line, self.field, self.message = str(file), line, field, message
        where = self.file
        if line is not None:
            where += f", line {line}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class ImageError(ShoplensError):
    """An image that cannot be used (undecodable, too large); the message says which and why."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class EventError(ShoplensError):
    """A behaviour event (click, impression, ...) is malformed; the message names the field."""


class ConfigError(ShoplensError):
    """A configuration file or value is invalid; the message names the key."""


class UsageError(ShoplensError):
    """A command-line option or argument combination is invalid."""

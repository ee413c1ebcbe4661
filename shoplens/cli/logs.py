"""Where the `shoplens` command sends the library's logs: stderr, as text for people or JSON for servers.

The library only logs (to the `shoplens.*` loggers, silent unless configured);
this module is the one place that configures logging, and only the CLI calls
it. stdout stays reserved for results (tables, `--json` output), so piping
`shoplens search --json` never mixes in a log line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOG_FORMATS = ("text", "json")


def add_logging_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """-v / -q / --log-format. On subcommands the defaults are suppressed, so an option given
    before the subcommand name is not reset by the subcommand's parser."""

    def default(value):
        return value if top_level else argparse.SUPPRESS

    g = parser.add_argument_group("logging (before or after the command name)")
    g.add_argument("-v", "--verbose", action="count", default=default(0), help="debug detail in the log")
    g.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="warnings and errors only; no progress bars"
    )
    g.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=default("text"),
        help="text (default) or json: one JSON object per line on stderr (time, level, logger, message)",
    )


def add_logging_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """The options on the main parser and on every (nested) subcommand parser."""
    add_logging_options(parser, top_level=True)

    def walk(p: argparse.ArgumentParser) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sp in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                    add_logging_options(sp, top_level=False)
                    walk(sp)

    walk(parser)


class _TextFormatter(logging.Formatter):
    """Progress and summaries read as plain lines; anything else says what it is."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        if record.levelno == logging.INFO:
            return msg
        if record.levelno < logging.INFO:
            return f"shoplens: debug [{record.name}]: {msg}"
        return f"shoplens: {record.levelname.lower()}: {msg}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what a log shipper (journald, Loki, CloudWatch) parses without rules."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _StderrHandler(logging.Handler):
    """Writes to the current sys.stderr (not the one at setup), through tqdm when text, so a log line
    does not tear a progress bar apart."""

    def __init__(self, fmt: str):
        super().__init__()
        self.fmt = fmt

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            if self.fmt == "text" and "tqdm" in sys.modules:  # a bar may be on screen
                from tqdm import tqdm

                tqdm.write(line, file=sys.stderr)
            else:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        except Exception:
            self.handleError(record)


@contextmanager
def cli_logging(verbose: int = 0, quiet: bool = False, fmt: str = "text") -> Iterator[int]:
    """Send `shoplens.*` logs to stderr at the level the flags ask for, for the duration of one
    command (yields that level). -v wins over -q (asking for detail is the more deliberate of the
    two). The logger is put back as it was afterwards, so `main()` called inside another program
    (or a test) leaves that program's logging alone."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}, not {fmt!r}")
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logger = logging.getLogger("shoplens")
    saved = logger.level, logger.propagate
    handler = _StderrHandler(fmt)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # the command owns stderr; a host's root handlers would double every line
    try:
        yield level
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]

"""Logs: the library only logs (silent unless configured); the CLI sends them to stderr, -q / -v / json."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from shoplens.cli import main
from shoplens.cli.logs import cli_logging

from ..conftest import fashion_rows, write_catalog

BAD_ROW = 31  # data row number of the appended row without an id


def _catalog_with_a_bad_row(tmp_path):
    cat = write_catalog(tmp_path / "catalog.csv", fashion_rows(30))
    with open(cat, "a", encoding="utf-8") as f:
        f.write(",no id here,,,,,,,\n")
    return cat


def _judgments(cat, tmp_path, *flags):
    args = ["judgments", "from-attributes", str(cat), "--fields", "gender,baseColour", "--type-from", "title"]
    return main([*args, "--out", str(tmp_path / "j.qrels"), *flags])


def test_library_logs_nothing_unless_the_application_configures_logging(tmp_path):
    """A fresh interpreter (no pytest handlers): a skipped row is a warning, yet nothing is printed,
    because `shoplens` carries a NullHandler (without it Python's last-resort handler prints warnings)."""
    cat = _catalog_with_a_bad_row(tmp_path)
    code = (
        "import logging, sys\n"
        "from shoplens.catalog import load_catalog, log_report\n"
        f"products, report = load_catalog({str(cat)!r})\n"
        "log_report(report)\n"
        "assert len(report.rows_skipped) == 1\n"
        "if sys.argv[1:] == ['configured']:\n"
        "    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s %(message)s')\n"
        "    log_report(report)\n"
    )
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""
    loud = subprocess.run([sys.executable, "-c", code, "configured"], capture_output=True, text=True, timeout=120)
    assert loud.stdout == "" and f"WARNING shoplens.catalog row skipped: {cat}, row {BAD_ROW}" in loud.stderr


def test_cli_text_logs_info_and_warnings_on_stderr_only(tmp_path, capsys):
    cat = _catalog_with_a_bad_row(tmp_path)
    assert _judgments(cat, tmp_path) == 0
    out, err = capsys.readouterr()
    assert "judgments ->" in out and "rows read" not in out  # stdout: results only
    assert "31 rows read, 30 products kept" in err
    assert f"shoplens: warning: row skipped: {cat}, row {BAD_ROW}, field 'id'" in err


def test_cli_quiet_keeps_warnings_and_drops_info_before_or_after_the_command(tmp_path, capsys):
    cat = _catalog_with_a_bad_row(tmp_path)
    for where in ("before", "after"):
        argv = ["-q"] if where == "before" else []
        args = ["judgments", "from-attributes", str(cat), "--fields", "gender,baseColour", "--type-from", "title"]
        assert main([*argv, *args, "--out", str(tmp_path / "j.qrels"), *([] if argv else ["-q"])]) == 0
        out, err = capsys.readouterr()
        assert "judgments ->" in out, where
        assert "rows read" not in err, where
        assert f"row {BAD_ROW}" in err, where


def test_cli_json_log_lines_parse(tmp_path, capsys):
    cat = _catalog_with_a_bad_row(tmp_path)
    assert _judgments(cat, tmp_path, "--log-format", "json") == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert records and all(set(r) == {"time", "level", "logger", "message"} for r in records)
    assert {r["level"] for r in records} == {"INFO", "WARNING"}
    warn = [r for r in records if r["level"] == "WARNING"]
    assert warn[0]["logger"] == "shoplens.catalog" and f"row {BAD_ROW}" in warn[0]["message"]
    assert records[0]["time"].endswith("+00:00")


def test_cli_errors_are_one_line_in_either_format(tmp_path, capsys):
    assert main(["--log-format", "json", "info", "--store", str(tmp_path / "nowhere")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert json.loads(line)["level"] == "ERROR"
    assert main(["info", "--store", str(tmp_path / "nowhere")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("shoplens: error: ")


def test_cli_logging_puts_the_logger_back():
    logger = logging.getLogger("shoplens")
    before = (logger.level, logger.propagate, list(logger.handlers))
    with cli_logging(verbose=1) as level:
        assert level == logging.DEBUG and logger.level == logging.DEBUG and not logger.propagate
    assert (logger.level, logger.propagate, list(logger.handlers)) == before
    with cli_logging(quiet=True) as level:
        assert level == logging.WARNING
    with cli_logging(verbose=1, quiet=True) as level:
        assert level == logging.DEBUG  # -v wins


def _library_calls(names: set[str]) -> list[str]:
    """Calls of print / sys.exit / exit / quit / sys.stdout|stderr.write in library code (everything under
    shoplens/ except the interfaces, cli/ and __main__.py, whose job is printing and exit codes)."""
    import ast
    from pathlib import Path

    pkg = Path(__file__).resolve().parents[2] / "shoplens"
    found = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg)
        if rel.parts[0] in ("cli", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else ast.unparse(f) if isinstance(f, ast.Attribute) else ""
            if name in names:
                found.append(f"shoplens/{rel}:{node.lineno}: {name}(...)")
    return found


def test_library_code_neither_prints_nor_exits():
    banned = {"print", "sys.exit", "exit", "quit", "os._exit", "sys.stdout.write", "sys.stderr.write"}
    assert _library_calls(banned) == []
    assert _library_calls({"log.info"}), "the scan must see calls in library modules"  # guards the scan itself

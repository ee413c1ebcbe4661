"""Logs of the `shoplens` command as a process: JSON lines for servers, -q for scripts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from ..conftest import fashion_rows, write_catalog

BIN = [sys.executable, "-m", "shoplens"]


def test_index_json_logs_then_quiet(tmp_path, onnx_cache):
    cat = write_catalog(tmp_path / "catalog.csv", fashion_rows(20, offset=700))
    with open(cat, "a", encoding="utf-8") as f:
        f.write(",no id here,,,,,,,\n")  # row 21
    store = tmp_path / "s"
    shutil.copytree(onnx_cache, store / "cache" / "onnx")  # the session's ONNX exports: no export of its own
    args = ["index", str(cat), "--store", str(store), "--no-align"]
    p = subprocess.run([*BIN, "--log-format", "json", *args], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("indexed 20 products")
    records = [json.loads(line) for line in p.stderr.splitlines() if line.strip()]  # progress bars are off too
    assert {"INFO", "WARNING"} <= {r["level"] for r in records}
    assert any(r["logger"] == "shoplens.engine" and r["message"].startswith(f"store {store}") for r in records)
    assert any(r["level"] == "WARNING" and "row 21, field 'id'" in r["message"] for r in records)

    q = subprocess.run([*BIN, *args, "-q"], capture_output=True, text=True, timeout=600)
    assert q.returncode == 0, q.stderr
    assert q.stdout.startswith("indexed 20 products")
    lines = q.stderr.splitlines()
    assert lines == [f"shoplens: warning: row skipped: {cat}, row 21, field 'id': missing or invalid 'id'"]

"""`search --batch` as a nightly job runs it: a bad line stands as an error object, the rest go on."""

from __future__ import annotations

import json
import subprocess
import sys

BIN = [sys.executable, "-m", "shoplens"]


def test_bad_lines_become_error_objects_and_the_batch_goes_on(small_store, tmp_path):
    qf = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"text": "black watch"}),
        json.dumps({"text": "   "}),  # empty query
        "{broken",
        "",  # blank lines are skipped, not errors
        json.dumps({"text": "shirt", "k": 0}),  # out of range
        json.dumps({"text": "women blue jeans", "k": 3}),
    ]
    qf.write_text("\n".join(lines) + "\n")
    p = subprocess.run(
        [*BIN, "search", "--store", str(small_store), "--batch", str(qf), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    outs = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(outs) == 5, p.stdout
    assert outs[0]["query"]["text"] == "black watch" and outs[0]["results"]
    assert [o.get("line") for o in outs[1:4]] == [2, 3, 5]
    assert all("error" in o and "results" not in o for o in outs[1:4])
    assert "line 3" in outs[2]["error"] and "JSON" in outs[2]["error"]
    assert outs[4]["query"]["text"] == "women blue jeans" and len(outs[4]["results"]) <= 3 and outs[4]["results"]
    assert p.returncode == 2 and "3 line(s)" in p.stderr and "Traceback" not in p.stderr


def test_a_clean_batch_exits_zero(small_store, tmp_path):
    qf = tmp_path / "q.jsonl"
    qf.write_text(json.dumps({"text": "black watch"}) + "\n")
    p = subprocess.run(
        [*BIN, "search", "--store", str(small_store), "--batch", str(qf)], capture_output=True, text=True, timeout=600
    )
    assert p.returncode == 0 and json.loads(p.stdout)["results"]

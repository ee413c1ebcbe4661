"""`shoplens similar` / `shoplens recommend` as a user runs them: a real process on a real store."""

from __future__ import annotations

import json
import subprocess
import sys

BIN = [sys.executable, "-m", "shoplens"]


def run(*args):
    return subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True, timeout=600)


def test_similar_json_is_shaped_like_search(rec_store, small_rows):
    pid = next(iter(small_rows))
    p = run("similar", "--store", rec_store, pid, "--k", "4", "--by", "photo", "--json", "--explain")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["query"] == {"similar_to": pid, "by": "photo", "k": 4} and len(out["results"]) == 4
    assert pid not in {h["id"] for h in out["results"]}
    assert set(out["results"][0]) == {"id", "score", "title", "explain"}
    assert set(out["results"][0]["explain"]) == {"photo"}
    text = run("similar", "--store", rec_store, pid, "--k", "3")
    assert text.returncode == 0 and text.stdout.splitlines()[0] == f"similar to {pid} (by both):"
    assert len(text.stdout.splitlines()) == 4


def test_unknown_product_and_cold_user(rec_store, small_rows):
    from shoplens.feedback.log import FeedbackLog

    a, b = list(small_rows)[:2]
    log = FeedbackLog(rec_store)
    clicks = [{"action_name": "click", "object_id": pid, "user_id": "u1"} for pid in (a, b, b)]
    assert log.record_events([{**c, "event_id": f"e{n}"} for n, c in enumerate(clicks)]).stored == 3
    log.close()
    p = run("similar", "--store", rec_store, "no-such-product")
    assert p.returncode == 2 and p.stderr.strip().count("\n") == 0 and "'no-such-product'" in p.stderr
    assert "Traceback" not in p.stderr
    p = run("recommend", "--store", rec_store, "--user", "nobody-at-all", "--k", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["query"]["source"] == "popular" and out["query"]["recommend_for"] == "nobody-at-all"
    assert [r["id"] for r in out["results"]] == [b, a]  # by clicks
    assert all(set(r) == {"id", "score", "title"} for r in out["results"])

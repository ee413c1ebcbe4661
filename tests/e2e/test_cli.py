"""The CLI as a user runs it: a real process, real store, JSON contract."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from ..conftest import FASHION, ROOT, fashion_rows
from ..grading import binom_tail, grade, hypergeom_tail, min_passing
from ..photos import augment

BIN = [sys.executable, "-m", "shoplens"]
DEMO_CATALOG = ROOT / "shoplens" / "data" / "demo" / "catalog.csv"


def run(*args, check=True, **kw):
    p = subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True, timeout=600, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}")
    return p


def test_search_json_contract(small_store, tmp_path):
    p = run("search", "--store", small_store, "women blue jeans", "--k", "3", "--json")
    out = json.loads(p.stdout)
    assert out["query"]["text"] == "women blue jeans" and len(out["results"]) == 3
    assert set(out["results"][0]) == {"id", "score", "title"}
    img = augment(FASHION / fashion_rows(1)[0]["image"], tmp_path / "q.jpg", seed=0)  # a shopper's photo
    out = json.loads(run("search", "--store", small_store, "--image", img, "--json", "--explain").stdout)
    assert out["results"][0]["id"] == fashion_rows(1)[0]["id"] and "image" in out["results"][0]["explain"]


def test_batch_in_order(small_store, tmp_path):
    img = augment(FASHION / fashion_rows(2)[1]["image"], tmp_path / "q.jpg", seed=1)
    lines = [{"text": "black watch"}, {"image": str(img)}, {"text": "shirt", "filters": {"gender": "Women"}}]
    qf = tmp_path / "q.jsonl"
    qf.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    p = run("search", "--store", small_store, "--batch", qf, "--k", "4", "--json")
    outs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [o["query"].get("text") for o in outs] == ["black watch", None, "shirt"]
    assert outs[1]["results"][0]["id"] == fashion_rows(2)[1]["id"]
    qf.write_text(json.dumps({"text": "x"}) + "\n{broken\n")
    p = run("search", "--store", small_store, "--batch", qf, "--json", check=False)
    assert p.returncode == 2 and "line 2" in p.stderr


def test_user_errors_are_one_line_not_tracebacks(tmp_path, small_store):
    p = run("search", "--store", tmp_path / "none", "x", check=False)
    assert p.returncode == 2 and "no shoplens store here" in p.stderr and "Traceback" not in p.stderr
    p = run("search", "--store", small_store, "x", "--filter", "nope=1", check=False)
    assert p.returncode == 2 and "unknown filter field 'nope'" in p.stderr
    p = run("index", tmp_path / "missing.csv", "--store", tmp_path / "s", check=False)
    assert p.returncode == 2 and "catalog not found" in p.stderr


def test_demo_builds_and_answers_examples(tmp_path):
    """The README's first command, end to end (store in a temp dir)."""
    p = run("demo", "--store", tmp_path / "demo", "--quiet")
    out = p.stdout
    assert "(320 products)" in out
    assert "[Chinese] '男士 黑色 运动鞋'" in out and "understood: gender=Men, baseColour=Black, type=shoes" in out
    assert "[image]" in out and "Try: shoplens search" in out
    # real answers, not just any products: graded from the demo catalog's own columns
    with open(DEMO_CATALOG, encoding="utf-8") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    want = {"kind": "shoes", "gender": "Men", "colour": "Black"}
    res = json.loads(run("search", "--store", tmp_path / "demo", "men black shoes", "--k", "10", "--json").stdout)
    got = sum(grade(rows[h["id"]], want) == 2 for h in res["results"])
    relevant = sum(grade(r, want) == 2 for r in rows.values())
    need = min_passing(lambda t: hypergeom_tail(len(rows), relevant, 10, t))  # random ranking: p < 0.1%
    assert got >= need, (got, need, relevant)


def test_align_command_publishes_a_new_generation(small_store, heldout_heads, tmp_path):
    """`heldout_heads` (a session fixture the integration tests need anyway) trained through small_store's
    cache on rows that include these: the copy below holds the encodings of their attribute captions, so
    `align` trains and publishes without encoding them again (about 20 s of CPU)."""
    import shutil

    store = tmp_path / "s"
    shutil.copytree(small_store, store)
    gen = (store / "CURRENT").read_text()
    p = run("align", "--store", store, "--epochs", "3", "--ensemble", "1", "--no-refit", "--json", "--quiet")
    metrics = json.loads(p.stdout)  # stdout is only the JSON; logs go to stderr
    val = metrics["validation"]
    for direction in ("text_to_image", "image_to_text"):
        assert set(val[direction]) >= {"R@1", "R@5", "R@10", "MRR"}
        n = val[direction]["n"]  # chance: each of n targets is in a random top 10 with p = 10/n
        need = min_passing(lambda t, n=n: binom_tail(n, min(1.0, 10 / n), t))
        assert round(val[direction]["R@10"] * n) >= need, (val[direction], need)
    assert (store / "CURRENT").read_text() != gen
    info = json.loads(run("info", "--store", store, "--json").stdout)["manifest"]
    assert info["heads"]["source"] in ("trained on this store", "shipped defaults")
    assert info["heads"]["metrics"]
    assert "aligned:image" in info["fields"] and info["ingest"].get("aligned") is True
    out = json.loads(run("search", "--store", store, "black watch", "--json").stdout)
    assert out["results"]

"""From the command line: a JSONL catalog with a product whose only text is printed in its photo is
indexed (`shoplens index`), found first for that word, and `--explain` says where the word was."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..conftest import FASHION, fashion_rows
from .printed import print_word

pytestmark = pytest.mark.slow
BIN = [sys.executable, "-m", "shoplens"]


def run(*args):
    p = subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    return p.stdout


def test_index_and_search_printed_word(tmp_path, onnx_cache):
    rows = fashion_rows(24, offset=700)
    lines = [{"id": r["id"], "title": r["productDisplayName"], "image": str(FASHION / r["image"])} for r in rows[:-1]]
    photo = print_word(FASHION / rows[-1]["image"], tmp_path / "p.jpg", "QUIVENTA")
    lines.append({"id": "printed", "image": str(photo)})
    cat = tmp_path / "catalog.jsonl"
    cat.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    store = tmp_path / "store"
    (store).mkdir()
    (store / "shoplens.toml").write_text(f'[encoders]\ncache_dir = "{onnx_cache}"\n')
    out = run("index", cat, "--store", store, "--no-align", "-q")
    assert "ocr:e5" in out  # the photo text's own vector field
    out = run("search", "quiventa", "--store", store, "--explain", "--k", "3")
    first = out.split("\n  2.")[0]
    assert "1. printed" in first and "ocr" in first and "printed in the photo: QUIVENTA" in first, out
    # --no-ocr: the word is nowhere
    out = run("index", cat, "--store", store, "--no-align", "-q", "--no-ocr", "--rebuild")
    assert "ocr:e5" not in out
    res = json.loads(run("search", "quiventa", "--store", store, "--json", "--k", "3"))
    assert [r["id"] for r in res["results"]][:1] != ["printed"]

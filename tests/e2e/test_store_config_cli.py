"""`shoplens info`, `migrate` and a store's shoplens.toml, as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store_v1"
BIN = [sys.executable, "-m", "shoplens"]


def run(*args, check=True, env=None):
    p = subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True, timeout=600, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}")
    return p


def test_info_migrate_and_a_weight_switched_off_by_the_store_file(tmp_path):
    store = tmp_path / "store"
    shutil.copytree(FIXTURE, store)
    (store / "shoplens.toml").write_text(
        '[search]\ncandidates = 50\n[search.weights]\n"text_dense:use" = 0\n'
        "[server]\ncache_size = 0\nsearch_timeout_s = 1\n"
    )

    env = {**os.environ, "SHOPLENS_SEARCH_TIMEOUT_S": "2.5"}
    info = json.loads(run("info", "--store", store, "--json", "--threads", "1", env=env).stdout)
    cfg = info["config"]
    assert cfg["server.cache_size"] == {"value": 0, "source": "store file"}
    assert cfg["server.search_timeout_s"] == {"value": 2.5, "source": "environment $SHOPLENS_SEARCH_TIMEOUT_S"}
    assert cfg["search.weights.text_dense:use"] == {"value": 0.0, "source": "store file"}
    assert cfg["search.candidates"] == {"value": 50, "source": "store file"}
    assert cfg["encoders.threads"] == {"value": 1, "source": "command line"}
    assert cfg["search.weights.bm25"] == {"value": 1.0, "source": "default"}
    assert info["stored_schema_version"] == 1 and info["manifest"]["schema_version"] == 2
    text = run("info", "--store", store).stdout
    assert "shoplens migrate --store" in text and "[store file]" in text

    out = json.loads(run("search", "--store", store, "black shoes", "--explain", "--json", "--k", "5").stdout)
    comps = {c for r in out["results"] for c in r["explain"]}
    assert "text_dense:e5" in comps and "text_dense:use" not in comps

    assert "migrated schema v1 -> v2 as gen-000002" in run("migrate", "--store", store).stdout
    assert "nothing to do" in run("migrate", "--store", store).stdout
    assert json.loads(run("info", "--store", store, "--json").stdout)["stored_schema_version"] == 2

    (store / "shoplens.toml").write_text("[search]\nwieghts = {bm25 = 2}\n")
    p = run("search", "--store", store, "black shoes", check=False)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "unknown key 'search.wieghts'; did you mean 'search.weights'?" in p.stderr

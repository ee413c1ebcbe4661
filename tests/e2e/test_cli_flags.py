"""Every `search` and `index` flag through the `shoplens` command, as a user runs it (assertions on --json)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ..conftest import FASHION, fashion_rows, write_catalog

BIN = [sys.executable, "-m", "shoplens"]


def run(*args, check=True, stdin=None):
    p = subprocess.run([*BIN, *map(str, args)], capture_output=True, text=True, timeout=600, input=stdin)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}")
    return p


def user_error(p, *named):
    """Exit 2, one line on stderr naming what was wrong, no traceback."""
    assert p.returncode == 2, (p.returncode, p.stderr[-1500:])
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    for n in named:
        assert n in p.stderr, (n, p.stderr)


ROWS = {r["id"]: r for r in fashion_rows(240)}


def test_strict_attributes_facets_and_list_filters(small_store):
    out = json.loads(
        run(
            "search", "--store", small_store, "men black shoes", "--strict-attributes", "--facets",
            "baseColour,gender", "--k", "20", "--json",
        ).stdout
    )  # fmt: skip
    hits = out["results"]
    assert hits and all(ROWS[h["id"]]["baseColour"] == "Black" and ROWS[h["id"]]["gender"] == "Men" for h in hits)
    loose = json.loads(run("search", "--store", small_store, "men black shoes", "--k", "80", "--json").stdout)
    assert any(ROWS[h["id"]]["baseColour"] != "Black" for h in loose["results"])  # strict is what filtered them
    out = json.loads(
        run(
            "search", "--store", small_store, "watch", "--filter", "gender=Women", "--filter", "gender=Girls",
            "--facets", "gender", "--k", "30", "--json",
        ).stdout
    )  # fmt: skip
    assert out["results"] and {ROWS[h["id"]]["gender"] for h in out["results"]} <= {"Women", "Girls"}
    assert set(out["facets"]["gender"]) <= {"Women", "Girls"} and sum(out["facets"]["gender"].values()) >= len(
        out["results"]
    )


def test_weights_switch_components_and_bad_weights_are_user_errors(small_store):
    only_bm25 = {"bm25": 1, "text_dense:e5": 0, "text_dense:use": 0, "text_to_image": 0, "attributes": 0}
    out = json.loads(
        run(
            "search", "--store", small_store, "black watch", "--weights", json.dumps(only_bm25), "--explain", "--json"
        ).stdout
    )
    assert out["results"] and all(set(h["explain"]) == {"bm25"} for h in out["results"])
    user_error(run("search", "--store", small_store, "x", "--weights", "{bad", check=False), "--weights")
    user_error(run("search", "--store", small_store, "x", "--weights", '{"bm25": -1}', check=False), "--weights")


def test_malformed_filters_missing_and_corrupt_images_are_user_errors(small_store, tmp_path):
    user_error(
        run("search", "--store", small_store, "x", "--filter", "gender=Men", "--filter", "price<=", check=False),
        "price<=",
    )
    user_error(run("search", "--store", small_store, "x", "--filter", "colour!=Red", check=False), "colour!=Red")
    user_error(run("search", "--store", small_store, "--image", tmp_path / "nope.jpg", check=False), "nope.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    user_error(run("search", "--store", small_store, "--image", tmp_path / "bad.jpg", check=False), "bad.jpg")


def test_batch_from_stdin_and_info(small_store):
    lines = [{"text": "black watch", "k": 2}, {"text": "shirt", "filters": {"gender": "Women"}}]
    p = run("search", "--store", small_store, "--batch", "-", "--json", stdin="\n".join(map(json.dumps, lines)))
    outs = [json.loads(x) for x in p.stdout.splitlines()]
    assert [o["query"]["text"] for o in outs] == ["black watch", "shirt"] and len(outs[0]["results"]) == 2
    assert all(ROWS[h["id"]]["gender"] == "Women" for h in outs[1]["results"])
    info = json.loads(run("info", "--store", small_store, "--json").stdout)["manifest"]
    assert info["products"] == 240 and "text:e5" in info["fields"] and info["encoders"]


@pytest.fixture
def store(tmp_path, onnx_cache, small_store):
    s = tmp_path / "store"
    shutil.copytree(onnx_cache, s / "cache" / "onnx")  # skip the ONNX export
    return s


def test_jsonl_and_parquet_in_one_index_with_prices_duplicates_and_rebuild(store, tmp_path):
    rows = fashion_rows(10, offset=900)
    jl = tmp_path / "a.jsonl"
    jl.write_text(
        "\n".join(
            json.dumps(
                {"id": r["id"], "title": r["productDisplayName"], "image": str(FASHION / r["image"]),
                 "price": 10 * (i + 1), "gender": r["gender"]}
            )
            for i, r in enumerate(rows[:6])
        ) + "\n"
    )  # fmt: skip
    dup = rows[0]["id"]  # also in the Parquet file, with another title: the later catalog wins, reported
    pq.write_table(
        pa.table(
            {
                "id": [dup] + [r["id"] for r in rows[6:]],
                "title": ["Zebrafinch Parquet Edition"] + [r["productDisplayName"] for r in rows[6:]],
                "price": [5.0] + [100.0] * 4,
                "gender": [rows[0]["gender"]] + [r["gender"] for r in rows[6:]],
            }
        ),
        tmp_path / "b.parquet",
    )
    p = run("index", jl, tmp_path / "b.parquet", "--store", store, "--no-align", "--quiet")
    assert "Traceback" not in p.stderr
    info = json.loads(run("info", "--store", store, "--json").stdout)["manifest"]
    assert info["products"] == 10 and info["ingest"]["duplicates"] == 1
    out = json.loads(run("search", "--store", store, "zebrafinch", "--k", "1", "--json").stdout)
    assert out["results"][0]["id"] == dup and out["results"][0]["title"] == "Zebrafinch Parquet Edition"
    out = json.loads(run("search", "--store", store, "shirt", "--filter", "price<=30", "--k", "10", "--json").stdout)
    # prices: jsonl 10..60 (the dup now 5.0 from Parquet), parquet 100: <= 30 leaves the dup, 20 and 30
    assert {h["id"] for h in out["results"]} == {dup, rows[1]["id"], rows[2]["id"]}
    # --rebuild: the store holds exactly the new catalog
    only = write_catalog(tmp_path / "c.csv", fashion_rows(3, offset=950))
    run("index", only, "--store", store, "--no-align", "--quiet", "--rebuild")
    info = json.loads(run("info", "--store", store, "--json").stdout)["manifest"]
    assert info["products"] == 3 and info["ingest"]["added"] == 3


def test_eval_and_judgments_through_the_entry_point(small_store, small_catalog, tmp_path):
    p = run(
        "judgments", "from-attributes", small_catalog, "--fields", "gender,baseColour", "--type-from", "title",
        "--lang", "en", "--min-relevant", "2", "--out", tmp_path / "j.qrels",
    )  # fmt: skip
    assert (tmp_path / "j.qrels").stat().st_size > 0 and (tmp_path / "j.queries.jsonl").is_file(), p.stderr
    p = run(
        "eval", "--store", small_store, "--queries", tmp_path / "j.queries.jsonl", "--judgments",
        tmp_path / "j.qrels", "--json",
    )  # fmt: skip
    metrics = json.loads(p.stdout)
    flat = json.dumps(metrics)
    assert "ndcg" in flat.lower()
    user_error(run("eval", "--run", tmp_path / "missing.run", "--qrels", tmp_path / "j.qrels", check=False), "missing")

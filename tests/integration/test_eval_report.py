"""End-to-end evaluation on real shared data: reports from files and from a real store."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import pytest

from shoplens.cli import main
from shoplens.evaluate.judgments import load_judgments
from shoplens.evaluate.trec import read_run, write_run

from ..shared_data import need

DATA = need("fashion/catalog.csv").parents[1]
CATALOG = DATA / "fashion" / "catalog.csv"
SRW = DATA / "ubi_sample" / "esci_us_judgments.json"
UBI = DATA / "ubi_sample" / "ubi_queries_events.ndjson"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def noisy_run(qrels, seed, noise):
    """A run that ranks judged docs by grade plus noise (ties included), with some unjudged docs."""
    rng = random.Random(seed)
    run = {}
    for q, docs in qrels.items():
        scored = {d: round(g / 100 + rng.random() * noise, 1) for d, g in docs.items()}
        scored.update({f"X{q}{i}": round(rng.random() * noise, 1) for i in range(5)})
        run[q] = scored
    return run


def check_report(out: Path, compare: bool):
    html = (out / "index.html").read_text()
    names = ["metrics.png", "pr_curve.png", "ndcg_at_k.png", "per_query.png"] + (["compare.png"] if compare else [])
    for n in names:
        w, h = png_size(out / n)
        assert w > 300 and h > 150, n
        assert n in html
    assert html.count("data:image/png;base64,") == len(names)
    assert "ndcg@10" in html and ("wins / losses / ties" in html) == compare
    return html


def test_file_mode_report_and_json_on_esci_judgments(tmp_path, capsys):
    j = load_judgments(SRW)
    (tmp_path / "qrels").write_text(
        "".join(f"{q} 0 {d} {g}\n" for q in sorted(j.qrels) for d, g in sorted(j.qrels[q].items()))
    )
    write_run(tmp_path / "a.run", noisy_run(j.qrels, 1, 0.5), "a")
    write_run(tmp_path / "b.run", noisy_run(j.qrels, 2, 1.5), "b")
    assert (
        main(
            [
                "eval",
                "--run",
                str(tmp_path / "a.run"),
                "--qrels",
                str(tmp_path / "qrels"),
                "--json",
                "--metrics",
                "ndcg@10,map,mrr,p@10,recall@100,roc_auc,avg_precision",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out["metrics"]) == {"ndcg@10", "map", "mrr", "p@10", "recall@100", "roc_auc", "avg_precision"}
    assert len(out["per_query"]) == 150 and 0.5 < out["metrics"]["ndcg@10"] <= 1
    rc = main(
        [
            "eval",
            "--run",
            str(tmp_path / "a.run"),
            "--qrels",
            str(SRW),
            "--queries",
            str(DATA / "ubi_sample" / "esci_us_queryset.json"),
            "--compare",
            str(tmp_path / "b.run"),
            "--grade-map",
            "100:3,10:2,1:1,0:0",
            "--report",
            str(tmp_path / "rep"),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "ndcg@10" in text and "Δ" in text
    html = check_report(tmp_path / "rep", compare=True)
    assert "t towels kitchen" in html
    first = (tmp_path / "rep" / "compare.png").read_bytes()
    main(
        [
            "eval",
            "--run",
            str(tmp_path / "a.run"),
            "--qrels",
            str(SRW),
            "--queries",
            str(DATA / "ubi_sample" / "esci_us_queryset.json"),
            "--compare",
            str(tmp_path / "b.run"),
            "--grade-map",
            "100:3,10:2,1:1,0:0",
            "--report",
            str(tmp_path / "rep"),
        ]
    )
    assert (tmp_path / "rep" / "compare.png").read_bytes() == first  # deterministic


def test_judgments_cli_from_clicks_and_attributes(tmp_path, capsys):
    assert (
        main(
            [
                "judgments",
                "from-clicks",
                str(UBI),
                "--out",
                str(tmp_path / "clicks.qrels"),
                "--estimates-out",
                str(tmp_path / "est.csv"),
            ]
        )
        == 0
    )
    qrels = (tmp_path / "clicks.qrels").read_text().splitlines()
    assert len(qrels) > 1000 and all(len(l.split()) == 4 for l in qrels)
    queries = [json.loads(l) for l in (tmp_path / "clicks.queries.jsonl").read_text().splitlines()]
    assert {q["qid"] for q in queries} == {l.split()[0] for l in qrels}
    sub = tmp_path / "cat.csv"
    sub.write_text("".join(CATALOG.read_text().splitlines(keepends=True)[:1500]))
    assert (
        main(
            [
                "judgments",
                "from-attributes",
                str(sub),
                "--fields",
                "gender,baseColour",
                "--type-from",
                "title",
                "--lang",
                "en,zh",
                "--max-queries",
                "20",
                "--out",
                str(tmp_path / "attr.qrels"),
            ]
        )
        == 0
    )
    qs = [json.loads(l) for l in (tmp_path / "attr.queries.jsonl").read_text().splitlines()]
    assert {q["lang"] for q in qs} == {"en", "zh"} and len(qs) <= 40
    assert main(["eval", "--run", str(tmp_path / "nope"), "--qrels", str(tmp_path / "attr.qrels")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def store(tmp_path_factory, onnx_cache):
    """A real store: 300 shared fashion products, real encoders (no alignment training); the session's
    ONNX exports are copied to where the store keeps its own, so it makes no export of its own."""
    import shutil

    from shoplens.config import BuildConfig, EncoderConfig, EngineConfig
    from shoplens.engine import Engine

    root = tmp_path_factory.mktemp("evalstore")
    shutil.copytree(onnx_cache, root / "store" / "cache" / "onnx")
    lines = CATALOG.read_text().splitlines(keepends=True)
    rows = lines[1:]
    random.Random(0).shuffle(rows)
    base = CATALOG.parent
    cat = root / "catalog.csv"
    cat.write_text(lines[0] + "".join(r.replace(",images/", f",{base}/images/", 1) for r in rows[:300]))
    Engine.build(
        cat,
        root / "store",
        EngineConfig(encoders=EncoderConfig(threads=2)),
        BuildConfig(auto_align=False, progress=False),
    )
    return root


@pytest.mark.slow
def test_store_mode_report_from_real_store(store, tmp_path, capsys):
    assert (
        main(
            [
                "judgments",
                "from-attributes",
                str(store / "catalog.csv"),
                "--lang",
                "en,zh",
                "--min-relevant",
                "2",
                "--max-queries",
                "25",
                "--out",
                str(tmp_path / "attr.qrels"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    args = [
        "eval",
        "--store",
        str(store / "store"),
        "--queries",
        str(tmp_path / "attr.queries.jsonl"),
        "--judgments",
        str(tmp_path / "attr.qrels"),
        "--threads",
        "2",
    ]
    assert main(args + ["--json", "--save-run", str(tmp_path / "store.run")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["metrics"]["ndcg@10"] > 0.3 and len(out["per_query"]) >= 20
    run = read_run(tmp_path / "store.run")
    assert set(run) == set(out["per_query"])
    assert main(args + ["--compare", str(store / "store"), "--labels", "A,B", "--report", str(tmp_path / "rep")]) == 0
    check_report(tmp_path / "rep", compare=True)
    assert main(args + ["--report", str(tmp_path / "rep1")]) == 0
    check_report(tmp_path / "rep1", compare=False)

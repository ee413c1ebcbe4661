"""Judgment loaders (qrels / CSV / SRW JSON / queries) and judgments from catalog attributes."""

from __future__ import annotations

import json

import pytest

from shoplens.catalog import load_catalog
from shoplens.evaluate.judgments import (
    align,
    from_attributes,
    load_judgments,
    load_queries,
    parse_grade_map,
    write_queries,
)
from shoplens.evaluate.trec import EvalFileError
from shoplens.preprocess import lexicon

from ..shared_data import SHARED

DATA = SHARED
CATALOG = DATA / "fashion" / "catalog.csv"
SRW = DATA / "ubi_sample" / "esci_us_judgments.json"
QUERYSET = DATA / "ubi_sample" / "esci_us_queryset.json"
needs_data = pytest.mark.usefixtures("shared_data")


@pytest.fixture(scope="module")
def products():
    ps, _ = load_catalog(CATALOG, limit=3000)
    return ps


@needs_data
def test_from_attributes_on_real_catalog(products):
    queries, j = from_attributes(products, fields=["gender", "baseColour"], langs=("en", "zh"), max_queries=25, seed=3)
    by_id = {p.id: p for p in products}
    assert 25 <= len(queries) <= 50 and {q["lang"] for q in queries} == {"en", "zh"}
    for q in queries:
        assert set(q) == {"qid", "text", "lang", "filters"} and q["filters"] == {}
        grades = j.qrels[q["qid"]]
        full = [d for d, g in grades.items() if g == 2]
        assert len(full) >= 3 and 0 in grades.values()
        parsed = {m.field: m.value for m in lexicon.parse(q["text"])}
        assert {"gender", "colour", "type"} <= set(parsed), q["text"]
        for d, g in grades.items():
            p = by_id[d]
            same_type = lexicon.product_type(p.title) == parsed["type"]
            gender_ok = p.attributes["gender"] in (
                parsed["gender"],
                "Unisex" if parsed["gender"] in ("Men", "Women") else "",
            )
            colour_ok = p.attributes["baseColour"] == parsed["colour"]
            expect = 2 if same_type and gender_ok and colour_ok else 1 if same_type and gender_ok else 0
            assert g == expect, (q["text"], p.title, p.attributes)
    en = [q for q in queries if q["lang"] == "en"]
    zh = {q["qid"][:-3]: q for q in queries if q["lang"] == "zh"}
    assert all(j.qrels[q["qid"]] == j.qrels[zh[q["qid"]]["qid"]] for q in en if q["qid"] in zh)
    assert any(all(ord(c) > 127 for c in q["text"]) for q in zh.values())


@needs_data
def test_from_attributes_is_deterministic_and_respects_max(products):
    a = from_attributes(products, max_queries=10, seed=1)
    b = from_attributes(products, max_queries=10, seed=1)
    c = from_attributes(products, max_queries=10, seed=2)
    assert a[0] == b[0] and a[1].qrels == b[1].qrels
    assert len(a[0]) == 10 and a[0] != c[0]
    assert [q["text"] for q in a[0]] and all(len(q["text"].split()) >= 3 for q in a[0])


@needs_data
def test_srw_judgments_and_queryset_align():
    j = load_judgments(SRW)
    assert len(j.qrels) == 150 and sum(map(len, j.qrels.values())) == 6678
    assert set(g for d in j.qrels.values() for g in d.values()) <= {0, 1, 10, 100}
    queries = load_queries(QUERYSET)
    kept, qrels, unmatched = align(j, queries)
    assert len(kept) == 150 and not unmatched
    mapped = load_judgments(SRW, grade_map=parse_grade_map("100:3,10:2,1:1,0:0"))
    assert set(g for d in mapped.qrels.values() for g in d.values()) == {0, 1, 2, 3}


def test_csv_and_qrels_loaders(tmp_path):
    (tmp_path / "j.csv").write_text("query,id,grade\nwomen blue jeans,1,2\nwomen blue jeans,2,0\nmen shoes,3,1\n")
    j = load_judgments(tmp_path / "j.csv")
    assert j.by_text and len(j.qrels) == 2
    queries = [{"qid": "a", "text": "Women  Blue Jeans"}, {"qid": "b", "text": "other"}]
    kept, qrels, unmatched = align(j, queries)
    assert [q["qid"] for q in kept] == ["a"] and qrels["a"] == {"1": 2, "2": 0}
    assert unmatched == ["men shoes"]
    (tmp_path / "q.txt").write_text("a 0 1 2\na 0 2 0\n")
    t = load_judgments(tmp_path / "q.txt")
    assert t.qrels == {"a": {"1": 2, "2": 0}} and not t.by_text
    write_queries(tmp_path / "qs.jsonl", [{"qid": "z1", "text": "女士蓝色牛仔裤", "lang": "zh", "filters": {}}])
    assert load_queries(tmp_path / "qs.jsonl")[0]["text"] == "女士蓝色牛仔裤"


@pytest.mark.parametrize(
    "name,text,line,field",
    [
        ("j.csv", "query,id,grade\nq,1,2\nq,2,high\n", 3, "grade"),
        ("j.csv", "query,id,grade\nq,,2\n", 2, "id"),
        ("j.csv", "query,doc,grade\nq,1,2\n", 1, "id"),
        ("j.csv", "query,id,grade\nq,1,2\nq,1,1\n", 3, "id"),
        ("j.csv", "query,id,grade\nq,1,0.5\n", 2, "grade"),
        ("q.jsonl", '{"qid": "1", "text": "a"}\n{"qid": "2"}\n', 2, "text"),
        ("q.jsonl", '{"qid": "1", "text": "a"}\n{"qid": "1", "text": "b"}\n', 2, "qid"),
        ("q.jsonl", '{"qid": "1", "text": "a"}\n{oops\n', 2, None),
    ],
)
def test_malformed_files_name_line_and_field(tmp_path, name, text, line, field):
    (tmp_path / name).write_text(text)
    with pytest.raises(EvalFileError) as e:
        (load_queries if name.endswith(".jsonl") else load_judgments)(tmp_path / name)
    assert (e.value.line, e.value.field) == (line, field), str(e.value)
    assert f"line {line}" in str(e.value)


def test_malformed_srw_names_json_path(tmp_path):
    bad = {
        "judgmentRatings": [
            {"query": "a", "ratings": [{"docId": "x", "rating": "1"}, {"docId": "y", "rating": "lots"}]}
        ]
    }
    (tmp_path / "j.json").write_text(json.dumps(bad))
    with pytest.raises(EvalFileError, match=r"judgmentRatings\[0\]\.ratings\[1\]\.rating"):
        load_judgments(tmp_path / "j.json")
    (tmp_path / "k.json").write_text('{"judgmentRatings": [\n  {"query": "a",,}\n]}')
    with pytest.raises(EvalFileError, match="line 2"):
        load_judgments(tmp_path / "k.json")
    (tmp_path / "l.json").write_text('{"something": []}')
    with pytest.raises(EvalFileError, match="judgmentRatings"):
        load_judgments(tmp_path / "l.json")

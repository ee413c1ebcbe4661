"""`Engine.similar` on the small real store: relevant, never itself, duplicates once, diversified."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from shoplens.errors import QueryError

from ..conftest import FASHION


def chance_same(rows: list[dict], col: str) -> float:
    """P(a random other product shares this one's value), averaged over products."""
    counts = Counter(r[col] for r in rows)
    n = len(rows)
    return sum(c / n * (c - 1) / (n - 1) for c in counts.values())


def test_top5_share_type_and_gender_far_above_chance(small_engine, small_rows):
    rows = list(small_rows.values())
    agree, total = Counter(), 0
    for r in rows:
        res = small_engine.similar(r["id"], k=5)
        assert r["id"] not in res.ids and len(res) == 5
        for h in res.ids:
            agree["type"] += small_rows[h]["subCategory"] == r["subCategory"]
            agree["gender"] += small_rows[h]["gender"] == r["gender"]
            total += 1
    type_rate, gender_rate = agree["type"] / total, agree["gender"] / total
    type_chance, gender_chance = chance_same(rows, "subCategory"), chance_same(rows, "gender")
    # chance: ~0.2 for type, ~0.5 for gender on these 240 products
    assert type_rate >= max(0.7, 3 * type_chance), (type_rate, type_chance)
    assert gender_rate >= gender_chance + 0.25, (gender_rate, gender_chance)


def photo_hash(row: dict) -> str:
    return hashlib.sha1((FASHION / row["image"]).read_bytes()).hexdigest()


def test_exact_duplicate_photos_appear_once_and_copies_of_itself_never(small_engine, small_rows):
    hashes = {pid: photo_hash(r) for pid, r in small_rows.items()}
    assert len(set(hashes.values())) < len(hashes), "the test needs products sharing a photo"
    collapsed = 0
    for pid in small_rows:
        res = small_engine.similar(pid, k=10, by="photo")
        got = [hashes[h] for h in res.ids]
        assert len(set(got)) == len(got), (pid, res.ids)
        assert hashes[pid] not in got, (pid, res.ids)
        collapsed += res.understanding["near_duplicates_collapsed"]
    assert collapsed > 0  # duplicates were there to collapse


def test_by_side_is_explained(small_engine, small_rows):
    pid = next(iter(small_rows))
    photo = small_engine.similar(pid, k=8, by="photo")
    text = small_engine.similar(pid, k=8, by="text")
    both = small_engine.similar(pid, k=8, by="both")
    assert all(set(h.components) == {"photo"} for h in photo)
    assert all(set(h.components) == {"text"} for h in text)
    assert any(set(h.components) == {"photo", "text"} for h in both)
    out = both.to_json(explain=True)
    assert out["query"] == {"similar_to": pid, "by": "both", "k": 8}
    assert set(out["results"][0]) == {"id", "score", "title", "explain"}
    assert [h["score"] for h in out["results"]] == sorted((h["score"] for h in out["results"]), reverse=True)


def test_filters_apply(small_engine, small_rows):
    pid = next(p for p, r in small_rows.items() if r["gender"] == "Men")
    res = small_engine.similar(pid, k=6, filters={"gender": "Women"})
    assert len(res) == 6 and all(small_rows[h]["gender"] == "Women" for h in res.ids)


def test_bad_requests_name_the_problem(small_engine, small_rows):
    with pytest.raises(QueryError, match="'no-such-id'"):
        small_engine.similar("no-such-id")
    pid = next(iter(small_rows))
    with pytest.raises(QueryError, match="by must be"):
        small_engine.similar(pid, by="colour")
    with pytest.raises(QueryError, match="k must be"):
        small_engine.similar(pid, k=0)

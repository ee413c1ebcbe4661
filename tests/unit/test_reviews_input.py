"""Reviews in the catalog ({text, rating, date} or strings) and from a separate reviews file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shoplens.catalog import load_catalog
from shoplens.errors import CatalogError
from shoplens.features.reviews import review_weights
from shoplens.preprocess.reviews import attach_reviews, load_reviews
from shoplens.records import Product


def test_catalog_review_objects_keep_their_ratings(tmp_path):
    rows = [
        {"id": "1", "title": "A", "reviews": ["plain", {"text": "loved it", "rating": 5, "date": "2024-03-01"}]},
        {"id": "2", "title": "B", "reviews": [{"text": "ok"}, {"text": "bad rating", "rating": "lots"}]},
        {"id": "3", "title": "C", "reviews": ["just text"]},
    ]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    ps, rep = load_catalog(tmp_path / "c.jsonl")
    by = {p.id: p for p in ps}
    assert by["1"].reviews == ("plain", "loved it") and by["1"].review_ratings == (None, 5.0)
    assert by["2"].reviews == ("ok",) and by["2"].review_ratings == ()  # the unparseable one is reported
    assert [(i.row, i.field, i.message) for i in rep.field_issues] == [(2, "reviews", "rating 'lots' is not a number")]
    assert by["3"].review_ratings == ()
    # unrated reviews do not change a product's content hash (stores built before ratings existed)
    assert by["3"].content_hash() == Product(id="3", title="C", reviews=("just text",)).content_hash()
    assert Product.from_json(by["1"].to_json()) == by["1"]


def test_csv_reviews_column_is_a_json_list(tmp_path):
    (tmp_path / "c.csv").write_text(
        'id,title,reviews\n1,A,"[{""text"": ""for hiking"", ""rating"": 4}, ""warm""]"\n', encoding="utf-8"
    )
    (p,), _ = load_catalog(tmp_path / "c.csv")
    assert p.reviews == ("for hiking", "warm") and p.review_ratings == (4.0, None)


def test_reviews_file_csv_and_jsonl_unknown_ids_reported(tmp_path):
    (tmp_path / "r.csv").write_text(
        "product_id,text,rating,date\n"
        "1,great for the beach,5,2024-01-01\n"
        "2,nobody sells this,4,\n"
        ",no id,3,\n"
        "1,,3,\n"
        "1,meh,-2,\n",
        encoding="utf-8",
    )
    reviews, issues = load_reviews(tmp_path / "r.csv")
    assert reviews == {"1": [("great for the beach", 5.0), ("meh", None)], "2": [("nobody sells this", 4.0)]}
    assert [(i.row, i.field) for i in issues] == [(3, "product_id"), (4, "text"), (5, "rating")]
    products = [Product(id="1", title="Towel", reviews=("soft",)), Product(id="3", title="Cap")]
    out, unknown = attach_reviews(products, reviews, str(tmp_path / "r.csv"))
    assert out[0].reviews == ("soft", "great for the beach", "meh") and out[0].review_ratings == (None, 5.0, None)
    assert out[1] is products[1]
    assert [(u.product_id, u.field) for u in unknown] == [("2", "product_id")] and "no product" in unknown[0].message

    (tmp_path / "r.jsonl").write_text(
        json.dumps({"product_id": 3, "text": "keeps the sun off", "rating": 4}) + "\n{broken\n", encoding="utf-8"
    )
    reviews, issues = load_reviews(tmp_path / "r.jsonl")
    assert reviews == {"3": [("keeps the sun off", 4.0)]} and [i.row for i in issues] == [2]


def test_reviews_file_without_the_columns_is_refused(tmp_path):
    (tmp_path / "r.csv").write_text("sku,comment\n1,x\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="product_id"):
        load_reviews(tmp_path / "r.csv")
    with pytest.raises(CatalogError, match="not found"):
        load_reviews(tmp_path / "missing.csv")


def test_rating_weights():
    p = Product(id="1", reviews=("a", "b", "c"), review_ratings=(5.0, None, 1.0))
    assert np.allclose(review_weights(p), [6.0, 4.0, 2.0])
    assert np.allclose(review_weights(Product(id="2", reviews=("a",))), [4.0])

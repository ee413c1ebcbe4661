"""The attribute boost reads per-field columns kept in memory; it must rank as the SQLite lookups did."""

from __future__ import annotations

import numpy as np

from shoplens.records import Product
from shoplens.search import retrieve
from shoplens.store.products import ProductTable


def _table(tmp_path) -> ProductTable:
    colours = ["Black", "black", "Blue", "", "Red", "Black"]
    genders = ["Men", "Women", "Men", "Men", "", "Men"]
    products = []
    for i, (c, g) in enumerate(zip(colours, genders)):
        attrs = {k: v for k, v in (("baseColour", c), ("gender", g)) if v}
        products.append(Product(id=f"p{i}", title=f"product {i}", attributes=attrs))
    derived = [{"type": "shoes"} if i % 2 == 0 else {} for i in range(len(products))]
    ProductTable.create(tmp_path / "p.sqlite", products, derived).close()
    return ProductTable(tmp_path / "p.sqlite")


def test_attribute_columns_match_the_sqlite_rows(tmp_path):
    t = _table(tmp_path)
    docs = list(range(6))
    for field in ("baseColour", "gender", "type", "absent"):
        codes, vocab = t.attribute_column(field)
        names = {c: v for v, c in vocab.items()}
        assert [names.get(int(c)) for c in codes] == t.attribute_matrix(field, docs)
    assert t.attribute_column("gender")[0] is t.attribute_column("gender")[0]  # read once


def test_attribute_boost_scores_share_of_asked_attributes_with_tied_ranks(tmp_path):
    t = _table(tmp_path)
    r = retrieve.attributes(t, {"baseColour": "BLACK", "gender": "Men", "type": "shoes"}, np.array([0, 1, 2, 4, 5]))
    # doc 0: all three; docs 2 (gender + type) and 5 (colour + gender) tie, in pool order; 1 and 4: one each
    assert r.docs.tolist() == [0, 2, 5, 1, 4]
    assert np.allclose(r.scores, [1, 2 / 3, 2 / 3, 1 / 3, 1 / 3])
    assert r.ranks is not None and r.ranks.tolist() == [1, 2, 2, 4, 4]
    # a value no product has and an empty pool find nothing
    assert len(retrieve.attributes(t, {"baseColour": "Teal"}, [0, 1, 2]).docs) == 0
    assert len(retrieve.attributes(t, {"baseColour": "Black"}, []).docs) == 0

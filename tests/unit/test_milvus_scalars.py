"""Filters as Milvus expressions over scalar fields (store/backends/milvus_scalars.py) and the filter
mask that carries its filter (store/filters.py). The real server's answers are compared with the
id-expression path in tests/integration/test_milvus.py."""

from __future__ import annotations

import numpy as np

from shoplens.records import Product
from shoplens.store.backends.milvus_scalars import Scalars, expression, read_columns
from shoplens.store.filters import filters_of
from shoplens.store.products import ProductTable

PRODUCTS = [
    Product(id="a", title="Blue shirt", price=20.0, attributes={"gender": "Men", "colour": "Blue", "size": "10"}),
    Product(id="b", title="Red dress", price=55.5, attributes={"gender": "Women", "colour": "Red"}),
    Product(id="c", title="Black shoe", attributes={"gender": "Men", "colour": 'Bl"ack'}),
]


def _table(tmp_path):
    t = ProductTable.create(tmp_path / "p.sqlite", PRODUCTS, [{"type": "shirt"}, {}, {"type": "shoe"}])
    t.close()
    return tmp_path / "p.sqlite"


def test_columns_hold_lowercased_single_values_and_prices(tmp_path):
    cols = read_columns(_table(tmp_path), 3)
    sc = cols.scalars
    assert set(sc.fields) == {"gender", "colour", "size", "type"} and sc.price
    rows = cols.rows(np.array([2, 0, 1]))
    assert rows[sc.fields["gender"]] == ["men", "men", "women"]
    assert rows[sc.fields["size"]] == ["", "10", ""]  # none: "" (no product has an empty value)
    assert rows["price"] == [-1.0, 20.0, 55.5]  # none: -1, below every real price


def test_filters_become_expressions_with_the_product_tables_meaning():
    sc = Scalars(fields={"gender": "a0", "colour": "a1"}, price=True)
    assert expression({"gender": "Men"}, sc) == 'a0 == "men"'
    assert expression({"gender": ["Men", " boys "], "colour": "Blue"}, sc) == (
        '(a0 == "men" or a0 == "boys") and a1 == "blue"'
    )
    assert expression({"price": "<=50"}, sc) == "(price >= 0 and price <= 50.0)"
    assert expression({"price": "=20"}, sc) == expression({"price": 20}, sc) == "(price >= 0 and price == 20.0)"
    # what Milvus cannot be asked the same way: the caller sends the allowed ids instead
    assert expression({"size": "10"}, sc) is None  # not a scalar field
    assert expression({"gender": ">=3"}, sc) is None  # a numeric comparison on an attribute
    assert expression({"colour": 'bl"ack'}, sc) is None
    assert expression({"gender": []}, sc) is None
    assert expression({"price": "<=50"}, Scalars(fields={"gender": "a0"})) is None  # no usable price field


def test_filter_mask_carries_its_filter_until_changed(tmp_path):
    t = ProductTable(_table(tmp_path))
    mask = t.filter_mask({"gender": "Men"})
    assert mask.tolist() == [True, False, True] and filters_of(mask) == {"gender": "Men"}
    assert filters_of(mask[:2]) is None and filters_of(mask & True) is None and filters_of(mask.copy()) is None
    mask[0] = False  # changed in place: no longer what the filter says
    assert filters_of(mask) is None
    t.close()

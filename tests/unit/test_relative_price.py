"""Photo + "cheaper": which products are on the asked side of the reference product's price."""

from __future__ import annotations

from shoplens.records import Product
from shoplens.search.price import relative_price_mask
from shoplens.store.products import ProductTable


def test_cheaper_and_more_expensive_than_the_reference(tmp_path):
    ps = [
        Product("a", "A", price=10.0),
        Product("b", "B", price=30.5),
        Product("c", "C"),  # no price: on neither side
        Product("d", "D", price=19.99),
        Product("e", "E", price=30.5),  # the same price is not cheaper
    ]
    t = ProductTable.create(tmp_path / "p.sqlite", ps, [{}] * len(ps))
    mask, ref = relative_price_mask(t, 1, "lower")
    assert ref == 30.5 and mask.tolist() == [True, False, False, True, False]
    mask, ref = relative_price_mask(t, 3, "higher")
    assert ref == 19.99 and mask.tolist() == [False, True, False, False, True]
    assert relative_price_mask(t, 2, "lower") is None  # the reference has no price: nothing to compare
    assert relative_price_mask(t, 0, "sideways") is None

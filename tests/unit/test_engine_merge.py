"""Several catalogs in one `index`: one id in two of them is a duplicate, reported, last one wins."""

from __future__ import annotations

from shoplens.engine import _dedupe_across_catalogs
from shoplens.records import IngestReport, Product


def test_duplicate_ids_across_catalogs_keep_the_last_and_are_reported():
    a = [Product(id="1", title="old one"), Product(id="2", title="two")]
    b = [Product(id="1", title="new one"), Product(id="3", title="three")]
    ra, rb = IngestReport(file="a.csv", products=2), IngestReport(file="b.csv", products=2)
    got = _dedupe_across_catalogs(a + b, [ra, rb])
    assert sorted(p.id for p in got) == ["1", "2", "3"]
    assert next(p for p in got if p.id == "1").title == "new one"
    assert ra.duplicates == [] and [(d.product_id, d.field) for d in rb.duplicates] == [("1", "id")]
    assert "a.csv" in rb.duplicates[0].message


def test_one_catalog_or_no_overlap_is_untouched():
    a = [Product(id="1", title="x")]
    b = [Product(id="2", title="y")]
    ra, rb = IngestReport(file="a.csv", products=1), IngestReport(file="b.csv", products=1)
    assert _dedupe_across_catalogs(a + b, [ra, rb]) == a + b and not ra.duplicates and not rb.duplicates
    assert _dedupe_across_catalogs(a, [ra]) == a

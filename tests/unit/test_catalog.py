import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from shoplens.catalog import CatalogError, load_catalog


@pytest.fixture
def img(tmp_path):
    p = tmp_path / "a.jpg"
    Image.new("RGB", (32, 32), "red").save(p)
    return p


def test_csv_fields_attributes_and_relative_images(tmp_path, img):
    (tmp_path / "c.csv").write_text(
        "id,title,image,price,colour\n1,Red shirt,a.jpg,19.5,Red\n2,,,,\n", encoding="utf-8"
    )
    products, rep = load_catalog(tmp_path / "c.csv")
    assert [p.id for p in products] == ["1", "2"]
    p = products[0]
    assert p.title == "Red shirt" and p.price == 19.5 and p.attributes == {"colour": "Red"}
    assert p.images == (str(img.resolve()),)
    assert products[1].title is None and not products[1].images
    assert rep.products == 2 and not rep.all_issues()


def test_bad_rows_are_reported_with_row_and_field_and_the_rest_kept(tmp_path, img):
    (tmp_path / "c.csv").write_text(
        "id,title,image,price\n1,ok,a.jpg,1\n,no id,,\n3,bad price,a.jpg,abc\n4,missing img,nope.jpg,2\n"
        "5,too,many,cells,here\n",
        encoding="utf-8",
    )
    products, rep = load_catalog(tmp_path / "c.csv")
    assert [p.id for p in products] == ["1", "3", "4"]
    skipped = {(i.row, i.field) for i in rep.rows_skipped}
    assert (2, "id") in skipped and (5, None) in skipped
    fields = {(i.row, i.field, i.product_id) for i in rep.field_issues}
    assert (3, "price", "3") in fields and (4, "image", "4") in fields
    assert products[1].price is None and products[1].images  # price dropped, image kept
    assert products[2].images == () and products[2].title == "missing img"
    s = rep.summary()
    assert "row 2" in s and "field 'price'" in s and "c.csv" in s


def test_duplicate_ids_last_wins_and_reported(tmp_path):
    (tmp_path / "c.jsonl").write_text(
        "\n".join(
            json.dumps(d) for d in [{"id": 1, "title": "old"}, {"id": 2, "title": "two"}, {"id": 1, "title": "new"}]
        ),
        encoding="utf-8",
    )
    products, rep = load_catalog(tmp_path / "c.jsonl")
    assert {p.id: p.title for p in products} == {"1": "new", "2": "two"}
    assert len(rep.duplicates) == 1 and rep.duplicates[0].row == 3


def test_jsonl_image_lists_wrong_types_and_invalid_json(tmp_path, img):
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"id": "a", "title": "t", "images": ["a.jpg", str(img)], "size": ["S", "M"]})
        + "\n"
        + "{not json}\n"
        + json.dumps(["a", "list"])
        + "\n"
        + json.dumps({"id": "b", "title": {"x": 1}, "reviews": ["great", "bad"]})
        + "\n",
        encoding="utf-8",
    )
    products, rep = load_catalog(tmp_path / "c.jsonl")
    a, b = products
    assert len(a.images) == 2 and "size" not in a.attributes
    assert b.title is None and b.reviews == ("great", "bad")
    assert {i.row for i in rep.rows_skipped} == {2, 3}
    assert {(i.row, i.field) for i in rep.field_issues} == {(1, "size"), (4, "title")}


def test_parquet(tmp_path):
    pq.write_table(pa.table({"id": [1, 2], "title": ["a", "b"], "brand": ["x", None]}), tmp_path / "c.parquet")
    products, rep = load_catalog(tmp_path / "c.parquet")
    assert [p.id for p in products] == ["1", "2"] and products[0].attributes == {"brand": "x"}


def test_fatal_errors_name_the_file(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "none.csv")
    (tmp_path / "c.csv").write_text("sku,title\n1,a\n")
    with pytest.raises(CatalogError, match="no 'id' column"):
        load_catalog(tmp_path / "c.csv")
    (tmp_path / "c.xml").write_text("<x/>")
    with pytest.raises(CatalogError, match="unknown catalog format"):
        load_catalog(tmp_path / "c.xml")


def test_content_hash_tracks_changes(tmp_path):
    (tmp_path / "c.csv").write_text("id,title\n1,a\n")
    (tmp_path / "d.csv").write_text("id,title\n1,b\n")
    a = load_catalog(tmp_path / "c.csv")[0][0]
    b = load_catalog(tmp_path / "d.csv")[0][0]
    assert a.content_hash() != b.content_hash()
    assert a.content_hash() == load_catalog(tmp_path / "c.csv")[0][0].content_hash()


def test_field_rules_and_messages(tmp_path):
    """What each odd cell becomes, and the message the user reads for it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from shoplens.catalog import MAX_FIELD_CHARS

    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    pq.write_table(
        pa.table(
            {
                "id": [12.0, 13.5, None, 14.0, 15.0],
                "title": ["x" * MAX_FIELD_CHARS, "y" * (MAX_FIELD_CHARS + 1), "t", None, None],
                "price": [1.0, float("nan"), 2.0, 3.0, float("nan")],
                "description": ["kept description", None, None, "d", None],
                "image": ['["a.jpg", "", "b.jpg"]', "[not json", None, '{"a": 1}', None],
            }
        ),
        tmp_path / "c.parquet",
    )
    ps, rep = load_catalog(tmp_path / "c.parquet")
    by = {p.id: p for p in ps}
    assert sorted(by) == ["12", "13.5", "14", "15"]  # whole floats (pandas-style ids) lose the ".0"
    assert len(by["12"].title) == MAX_FIELD_CHARS and by["12"].description == "kept description"
    assert by["12"].images == (str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"))  # JSON list, blanks dropped
    assert by["13.5"].title is None and by["14"].title is None and by["15"].title is None
    assert by["12"].price == 1.0 and by["13.5"].price is None  # NaN is a blank cell, not an error
    msgs = {(i.product_id, i.field): i.message for i in rep.field_issues}
    assert msgs[("13.5", "title")] == f"{MAX_FIELD_CHARS + 1} characters, more than the {MAX_FIELD_CHARS} allowed"
    assert msgs[("13.5", "image")].startswith("file not found") and msgs[("13.5", "image")].endswith("[not json")
    assert msgs[("14", "image")].startswith("file not found")
    assert [i.message for i in rep.rows_skipped] == ["missing or invalid 'id'"]
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"id": "1", "title": {"a": 1}, "image": 5}\n')
    ps, rep = load_catalog(jl)
    msgs = {i.field: i.message for i in rep.field_issues}
    assert msgs == {"title": "expected text, got dict", "image": "expected a path string, got int"}

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


def test_tsv_prices_media_reviews_and_counts(tmp_path):
    """TSV, price spellings, several images/videos/reviews, bad fields beside good ones, row counts."""
    for n in ("a.jpg", "b.jpg", "v.mp4", "w.mp4"):
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / "c.tsv").write_text(
        "id\ttitle\tprice\timage\timages\tvideo\tvideos\treview\treviews\tcolour\n"
        "1\tA\t$1,299.50\tmissing.jpg\ta.jpg\tv.mp4\tw.mp4\tgreat\tok\tRed\n"
        "2\tB\t0\tb.jpg\t\t\t\t\t\t\n"
        "3\tC\t-4\t\t\t\t\t\t\t\n"
        "4\tD\tfree\t\t\t\t\t\t\t\n",
        encoding="utf-8",
    )
    ps, rep = load_catalog(tmp_path / "c.tsv")
    by = {p.id: p for p in ps}
    assert rep.file == str(tmp_path / "c.tsv") and rep.rows_read == 4 and rep.products == 4
    assert by["1"].price == 1299.5 and by["2"].price == 0.0 and by["3"].price is None and by["4"].price is None
    assert by["1"].images == (str(tmp_path / "a.jpg"),)  # the missing one dropped, the next one kept
    assert by["1"].videos == (str(tmp_path / "v.mp4"), str(tmp_path / "w.mp4"))
    assert by["1"].reviews == (
        "ok",
        "great",
    )  # "reviews" column first, then "review" and by["1"].attributes == {"colour": "Red"}
    assert by["2"].images == (str(tmp_path / "b.jpg"),)
    issues = {(i.product_id, i.field): i.message for i in rep.field_issues}
    assert issues[("1", "image")] == f"file not found: {tmp_path / 'missing.jpg'}"
    assert issues[("3", "price")] == "not a non-negative number: '-4'"
    assert issues[("4", "price")] == "not a non-negative number: 'free'"
    assert all(i.file == str(tmp_path / "c.tsv") for i in rep.field_issues)


def test_jsonl_lists_bad_rows_and_nested_attributes(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "c.ndjson").write_text(
        "{broken\n"
        '{"id": "1", "images": ["a.jpg", 7, "nope.jpg"], "reviews": ["fine", {"x": 1}], "size": [1], "fit": "slim"}\n'
        "{also broken\n"
        '{"id": "2", "title": "T"}\n',
        encoding="utf-8",
    )
    ps, rep = load_catalog(tmp_path / "c.ndjson")
    assert [p.id for p in ps] == ["1", "2"] and rep.rows_read == 4
    assert [i.row for i in rep.rows_skipped] == [1, 3] and all(i.message for i in rep.rows_skipped)
    p = ps[0]
    assert p.images == (str(tmp_path / "a.jpg"),) and p.reviews == ("fine",) and p.attributes == {"fit": "slim"}
    issues = sorted((i.field, i.message) for i in rep.field_issues)
    assert issues == [
        ("images", "expected a path string, got int"),
        ("images", f"file not found: {tmp_path / 'nope.jpg'}"),
        ("reviews", "a review object needs a 'text' (got keys x)"),
        ("size", "attribute values must be scalar, got list"),
    ]

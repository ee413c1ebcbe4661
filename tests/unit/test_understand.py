"""Query understanding: EN/ZH attribute parsing, field maps, real Chinese queries."""

from __future__ import annotations

import random

import pytest

from shoplens.search.understand import Understanding, infer_field_map, understand

from ..shared_data import SHARED

FM = {"gender": "gender", "colour": "baseColour", "type": "type", "usage": "usage", "season": "season"}
ZH_QUERIES = SHARED / "zh_queries" / "dev.query.txt"


@pytest.mark.parametrize(
    "q, attrs, english",
    [
        ("男士 黑色 运动鞋", {"gender": "Men", "baseColour": "Black", "type": "shoes"}, "men black shoes"),
        ("男士黑色运动鞋", {"gender": "Men", "baseColour": "Black", "type": "shoes"}, "men black shoes"),
        ("红色 连衣裙", {"baseColour": "Red", "type": "dress"}, "red dress"),
        ("女士白色T恤", {"gender": "Women", "baseColour": "White", "type": "tshirt"}, "women white tshirt"),
        ("黑裙子", {"baseColour": "Black", "type": "skirt"}, "black skirt"),
        ("深蓝色 男士 polo衫", {"baseColour": "Navy Blue", "gender": "Men", "type": "tshirt"}, None),
    ],
)
def test_chinese_queries(q, attrs, english):
    u = understand(q, FM)
    assert u.attributes == attrs
    assert u.lang in ("zh", "mixed")
    if english:
        assert u.english == english
    assert all(m.lang == "zh" for m in u.matches if "\u4e00" <= m.surface[0] <= "\u9fff")


@pytest.mark.parametrize(
    "q, attrs",
    [
        ("men black shoes", {"gender": "Men", "baseColour": "Black", "type": "shoes"}),
        ("black sneakers for men", {"gender": "Men", "baseColour": "Black", "type": "shoes"}),
        ("mens navy blue t-shirt", {"gender": "Men", "baseColour": "Navy Blue", "type": "tshirt"}),
        ("women's red dress", {"gender": "Women", "baseColour": "Red", "type": "dress"}),
        ("Nike shoe socks", {"type": "socks"}),  # head noun wins
        ("casual summer shirt", {"usage": "Casual", "season": "Summer", "type": "shirt"}),
    ],
)
def test_english_queries(q, attrs):
    u = understand(q, FM)
    assert u.attributes == attrs
    assert u.lang == "en"
    assert u.english == q


def test_no_false_chinese_matches():
    # 包 in 包邮 (free shipping) / 面包 (bread), 男 in 男子汉 (a manly man) are not attributes
    for q in ("包邮面包", "男子汉气概", "大落地窗"):
        assert understand(q, FM).attributes == {}, q
    # ... while 男朋友 (boyfriend) names who the product is for: a man
    assert understand("男朋友礼物", FM).attributes == {"gender": "Men"}


def test_spans_and_explain_dict():
    q = "red dress 女士"
    u = understand(q, FM)
    for m in u.matches:
        assert q[m.start : m.end] == m.surface
    d = u.to_dict()
    assert d["attributes"] == {"baseColour": "Red", "type": "dress", "gender": "Women"}
    assert d["lang"] == "mixed" and d["english"] == "red dress women"
    assert {m["field"] for m in d["matches"]} == {"colour", "type", "gender"}


def test_fields_without_catalog_column_not_in_attributes():
    u = understand("black shoes for men", {"type": "type"})
    assert u.attributes == {"type": "shoes"}
    assert {m.field for m in u.matches} == {"colour", "type", "gender"}
    assert all(m.column is None for m in u.matches if m.field != "type")


def test_infer_field_map_by_value_overlap():
    fm = infer_field_map(
        {
            "gender": {"Men", "Women", "Unisex"},
            "baseColour": {"Black", "Navy Blue", "Red", "Mauve"},
            "masterCategory": {"Apparel", "Footwear"},
            "season": {"Summer", "Fall"},
            "usage": {"Casual", "Sports", "Party"},
            "brand": {"Nike", "Puma"},
        }
    )
    assert fm == {"gender": "gender", "colour": "baseColour", "season": "season", "usage": "usage", "type": "type"}
    assert infer_field_map({}) == {"type": "type"}


def test_empty_and_odd_inputs():
    for q in ("", "   ", "12345", "!!!", "🙂 shoes"):
        u = understand(q, FM)
        assert isinstance(u, Understanding)
    assert understand("🙂 shoes", FM).attributes == {"type": "shoes"}


@pytest.mark.usefixtures("shared_data")
def test_real_chinese_queries_segment_without_errors():
    lines = ZH_QUERIES.read_text(encoding="utf-8").splitlines()
    sample = random.Random(0).sample(lines, 300)
    parsed = 0
    for line in sample:
        q = line.split("\t", 1)[-1]
        u = understand(q, FM)
        assert u.lang in ("zh", "mixed", "en", "other")
        for m in u.matches:
            assert q[m.start : m.end] == m.surface
        parsed += bool(u.attributes)
    # these are general e-commerce queries (furniture, cars, food): few fashion attributes
    assert parsed < len(sample) * 0.5

"""Free wordings (issue #12 item 4): who a product is for names a gender, fillers are not content,
and a query made of attributes and fillers reaches the retrievers as the template wording."""

from __future__ import annotations

import pytest

from shoplens.search.compose import attribute_coverage
from shoplens.search.understand import understand

FM = {"gender": "gender", "colour": "baseColour", "type": "type"}


@pytest.mark.parametrize(
    "q, gender",
    [
        ("looking for black shoes for my son", "Boys"),
        ("a black backpack for my husband", "Men"),
        ("red dress for my wife", "Women"),
        ("pink top for my daughter", "Girls"),
        ("watch for my boyfriend", "Men"),
        ("适合男生的黑色长裤", "Men"),
        ("适合女生的白色连衣裙", "Women"),
        ("给老公买的黑色皮鞋", "Men"),
        ("给儿子的蓝色T恤", "Boys"),
        ("女儿的粉色裙子", "Girls"),
        ("老婆的红色手提包", "Women"),
    ],
)
def test_people_name_a_gender(q, gender):
    assert understand(q, FM).attributes["gender"] == gender


@pytest.mark.parametrize(
    "free, template",
    [
        ("looking for black shoes for my son", "boys black shoes"),
        ("shoes in black for boys", "boys black shoes"),
        ("I want a black backpack for my husband", "men black backpack"),
        ("适合男孩的黑色运动鞋", "男童 黑色 运动鞋"),
        ("适合男生的黑色长裤", "男士 黑色 长裤"),
        ("给老公买的黑色皮鞋", "男士 黑色 皮鞋"),  # the shopper's own type word stays (leather shoes)
    ],
)
def test_attributes_and_fillers_read_as_the_template(free, template):
    u = understand(free, FM)
    assert u.normalized == template
    assert attribute_coverage(free, u.residual, len(u.fields)) == 1.0  # fillers are not unexplained words
    t = understand(template, FM)
    assert u.attributes == t.attributes
    assert u.english == t.english  # the English reading is the same too


def test_chinese_without_spaces_needs_no_rewording():
    spaced, joined = understand("男童 黑色 运动鞋", FM), understand("男童黑色运动鞋", FM)
    assert spaced.attributes == joined.attributes == {"gender": "Boys", "baseColour": "Black", "type": "shoes"}
    assert joined.normalized == spaced.normalized == ""  # already the template: searched as typed


@pytest.mark.parametrize(
    "q",
    [
        "men black shoes",  # the template itself
        "black sneakers for men",  # no filler ("for men" is one gender form): the shopper's words stay
        "Puma Men Grey Ferrari Track Shoes",  # brand and model words are content: an exact title stays as typed
        "looking for a Puma Ferrari shoe for my husband",
        "男朋友礼物",  # one attribute and a filler
        "garden hose",
    ],
)
def test_queries_with_content_keep_their_wording(q):
    assert understand(q, FM).normalized == ""


@pytest.mark.parametrize(
    "q, direction",
    [
        ("cheaper", "lower"),
        ("a cheaper one", "lower"),
        ("less expensive", "lower"),
        ("更便宜", "lower"),
        ("便宜一点", "lower"),
        ("more expensive", "higher"),
        ("更贵", "higher"),
        ("cheaper in red", "lower"),
        ("men black shoes", None),
    ],
)
def test_price_direction_is_read_but_is_no_product_attribute(q, direction):
    u = understand(q, FM)
    assert u.price == direction
    assert "price" not in u.fields and "price" not in u.attributes
    if q == "cheaper in red":
        assert u.fields == {"colour": "Red"}

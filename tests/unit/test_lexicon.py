"""The lexicon as data: the shipped file, shop extensions through a store's shoplens.toml,
Traditional Chinese read like Simplified, one parser for every caller."""

from __future__ import annotations

import random

import pytest

from shoplens.config_file import FILE_NAME, load_settings
from shoplens.errors import ConfigError
from shoplens.preprocess import lexicon
from shoplens.preprocess.lexicon import DEFAULT_PATH, Lexicon, default_lexicon, lexicon_for
from shoplens.search.understand import understand

from ..conftest import SHARED

FM = {"gender": "gender", "colour": "baseColour", "type": "type", "usage": "usage", "season": "season"}
ZH_QUERIES = SHARED / "zh_queries" / "train.query.txt"

SHOP_TERMS = """
[colour]
Mint = { en = ["mint", "mint green"], zh = ["薄荷绿", "薄荷色"] }
Black = { en = ["jet"], zh = ["乌黑"] }          # new forms of a shipped value

[type]
kaftan = { en = ["kaftan", "kaftans"], zh = ["长袍"] }

[material]                                      # a field the shipped lexicon does not have
Linen = { en = ["linen"], zh = ["亚麻"] }
"""


def test_shipped_file_is_the_lexicon():
    lex = default_lexicon()
    assert lex.sources == (str(DEFAULT_PATH),) and DEFAULT_PATH.suffix == ".toml"
    assert lex.fields == ("gender", "colour", "type", "usage", "season", "price")
    assert lexicon.ALL_TERMS == lex.terms and len(lex.terms) > 100
    assert lex.wording("colour", "Navy Blue", "zh") == "藏青色" and lex.wording("type", "tshirt") == "tshirt"
    assert lex.product_type("Nike Men Shoe Socks") == "socks"


def test_shop_terms_from_the_store_file_are_understood_in_both_languages(tmp_path):
    (tmp_path / "my_terms.toml").write_text(SHOP_TERMS, encoding="utf-8")
    (tmp_path / FILE_NAME).write_text('lexicon = "my_terms.toml"\n', encoding="utf-8")
    lex = lexicon_for(load_settings(tmp_path).engine.lexicon)
    fm = {**FM, "material": "fabric"}
    for q in ("mint kaftan for women", "女士 薄荷绿 长袍", "女士薄荷色长袍"):
        u = understand(q, fm, lex)
        assert u.attributes == {"baseColour": "Mint", "type": "kaftan", "gender": "Women"}, q
    assert understand("亚麻衬衫", fm, lex).attributes == {"fabric": "Linen", "type": "shirt"}
    assert understand("jet black linen shirt", fm, lex).fields == {
        "colour": "Black",
        "material": "Linen",
        "type": "shirt",
    }
    assert understand("乌黑 裙子", fm, lex).attributes == {"baseColour": "Black", "type": "skirt"}
    assert lex.product_type("Anouk Women Mint Kaftans") == "kaftan"
    assert lex.wording("colour", "Black", "zh") == "黑色"  # the preferred wording stays the shipped one
    # the extension is an object passed in: the shipped lexicon and its users are unchanged
    assert understand("mint kaftan", FM).attributes == {}
    assert default_lexicon().lookup("colour", "Mint") is None
    assert lex.fingerprint() != default_lexicon().fingerprint()


@pytest.mark.parametrize(
    "text, says",
    [
        ("[colour]\nMint = { en = 'mint' }", "'colour.Mint.en' must be a list"),
        ("[colour]\nMint = { fr = ['menthe'] }", "unknown key 'colour.Mint.fr'"),
        ("[colour]\nMint = {}", "'colour.Mint' has no surface forms"),
        ("colour = 3", "'colour' must be a table"),
        ("ambiguous_zh = ['粉色']", "'ambiguous_zh' must be a list of single characters"),
        ("[colour\n", "not valid TOML"),
    ],
)
def test_bad_shop_lexicon_names_file_and_key(tmp_path, text, says):
    path = tmp_path / "terms.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        default_lexicon().extended(path)
    assert str(path) in str(e.value) and says in str(e.value)


@pytest.mark.parametrize(
    "traditional, simplified",
    [
        ("黑色運動鞋", "黑色运动鞋"),
        ("男士 藍色 襯衫", "男士 蓝色 衬衫"),
        ("女裝紅色連衣裙", "女装红色连衣裙"),
        ("灰色長褲 男", "灰色长裤 男"),
    ],
)
def test_traditional_chinese_is_understood_like_simplified(traditional, simplified):
    t, s = understand(traditional, FM), understand(simplified, FM)
    assert s.attributes and t.attributes == s.attributes and t.english == s.english
    for m in t.matches:
        assert traditional[m.start : m.end] == m.surface  # spans are in the shopper's own characters


@pytest.mark.skipif(not ZH_QUERIES.is_file(), reason="shared zh_queries not available")
def test_traditional_equals_simplified_on_real_queries():
    import opencc

    s2t = opencc.OpenCC("s2t")
    lines = ZH_QUERIES.read_text(encoding="utf-8").splitlines()
    queries = [ln.split("\t", 1)[-1] for ln in random.Random(3).sample(lines, 4000)]
    with_attrs = [q for q in queries if understand(q, FM).attributes]
    assert len(with_attrs) >= 50  # enough real queries that ask for an attribute
    converted = 0
    for q in with_attrs:
        t = s2t.convert(q)
        converted += t != q
        assert understand(t, FM).attributes == understand(q, FM).attributes, (q, t)
    assert converted >= len(with_attrs) // 3  # the check is not vacuous: most differ in writing


def test_one_parser_for_every_caller():
    # lexicon.parse (judgments, tests) is the segmenting parser query understanding uses
    for q in ("包邮面包", "男子汉气概"):
        assert lexicon.parse(q) == []
    assert [(m.field, m.value) for m in lexicon.parse("黑裙子")] == [("colour", "Black"), ("type", "skirt")]
    assert not hasattr(lexicon, "to_english")


def test_lexicon_object_is_immutable_by_extension(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(SHOP_TERMS, encoding="utf-8")
    base = Lexicon.load()
    n = len(base.terms)
    ext = base.extended(path)
    assert len(base.terms) == n and len(ext.terms) == n + 3
    assert ext.sources == (str(DEFAULT_PATH), str(path))

"""Photo + "cheaper" / "more expensive" and free wordings, on real photos and real models
(issue #12 items 2 and 4).

The shared fashion catalog has no prices, so the priced store gives its 240 products prices
from their ids (deterministic, unrelated to the photos): what is tested is that the words move
the price and the photo keeps the kind of product."""

from __future__ import annotations

import csv
import shutil

import pytest

from shoplens.config import BuildConfig
from shoplens.engine import Engine
from shoplens.preprocess import lexicon

from ..conftest import FASHION, fashion_rows
from .test_quality2_real import BLACK_SHOE

pytestmark = pytest.mark.slow


def price_of(pid: str) -> float:
    return 10.0 + (int(pid) * 7919 % 1000) / 10.0  # 10.0 .. 109.9


@pytest.fixture(scope="module")
def priced(tmp_path_factory, engine_config, small_store):
    rows = fashion_rows(240)  # the small store's products: their photo features are cached there
    d = tmp_path_factory.mktemp("priced")
    (d / "store" / "cache").mkdir(parents=True)
    shutil.copyfile(small_store / "cache" / "features.sqlite", d / "store" / "cache" / "features.sqlite")
    with open(d / "catalog.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "image", "price", "gender", "baseColour"])
        for r in rows:
            w.writerow(
                [
                    r["id"],
                    r["productDisplayName"],
                    FASHION / r["image"],
                    price_of(r["id"]),
                    r["gender"],
                    r["baseColour"],
                ]
            )
    Engine.build(d / "catalog.csv", d / "store", engine_config, BuildConfig(progress=False, auto_align=False))
    engine = Engine.open(d / "store", engine_config)
    yield engine, {r["id"]: r for r in rows}
    engine.close()


def _type(row) -> str | None:
    return lexicon.product_type(row["productDisplayName"])


@pytest.mark.parametrize("words, below", [("cheaper", True), ("更便宜", True), ("more expensive", False)])
def test_photo_plus_price_word_moves_the_price_and_keeps_the_kind(priced, words, below):
    engine, rows = priced
    img = FASHION / BLACK_SHOE["image"]
    alone = engine.search(image=img, k=10)
    ref = rows[alone.ids[0]]  # the catalog product nearest the photo: the price to compare with
    res = engine.search(words, image=img, k=10)
    assert res.understanding["reference_price"] == price_of(ref["id"])
    prices = [price_of(i) for i in res.ids]
    assert len(prices) == 10
    assert all((p < price_of(ref["id"])) if below else (p > price_of(ref["id"])) for p in prices), prices
    # the photo still says what kind: mostly shoes, as the photo alone finds. Shoes are 52 of the
    # 240 products (chance of >= 7 of 10: < 0.1%)
    shoes = sum(_type(rows[i]) == "shoes" for i in res.ids)
    assert shoes >= 7 and sum(_type(rows[i]) == "shoes" for i in alone.ids) >= 7, shoes
    # the photo alone does not do this: some of its hits are on the other side of the price
    assert not all(
        (price_of(i) < price_of(ref["id"])) if below else (price_of(i) > price_of(ref["id"])) for i in alone.ids
    )


def test_price_words_without_a_photo_filter_nothing(priced):
    engine, _ = priced
    res = engine.search("cheaper men black shoes", k=10)
    assert "reference_price" not in res.understanding
    assert res.ids[:5] == engine.search("men black shoes", k=10).ids[:5]


@pytest.mark.parametrize(
    "free, template",
    [
        ("looking for black shoes for my husband", "men black shoes"),
        ("shoes in black for men", "men black shoes"),
        ("适合男生的黑色运动鞋", "男士 黑色 运动鞋"),
        ("给老婆买的白色T恤", "女士 白色 T恤"),
    ],
)
def test_free_wording_searches_like_the_template(small_engine, free, template):
    got, want = small_engine.search(free, k=10), small_engine.search(template, k=10)
    assert got.understanding["attributes"] == want.understanding["attributes"]
    assert len(want.ids) == 10 and got.ids == want.ids

"""`similar` on products without photos: a real store whose catalog mixes photo and text-only rows."""

from __future__ import annotations

import pytest

from shoplens.errors import QueryError

from ..conftest import fashion_rows, write_catalog


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, engine_config):
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    rows = fashion_rows(24, offset=300)
    text_only = [dict(r, image="") for r in rows[:6]]
    twin = dict(text_only[0], id="twin-of-" + text_only[0]["id"])  # same title and attributes, no photo
    d = tmp_path_factory.mktemp("mixed")
    catalog = write_catalog(d / "catalog.csv", [*text_only, twin, *rows[6:]])
    eng = Engine.build(catalog, d / "store", engine_config, BuildConfig(progress=False, auto_align=False))
    yield eng, [r["id"] for r in text_only], twin["id"], [r["id"] for r in rows[6:]]
    eng.close()


def test_text_only_product_by_photo_is_a_clear_error(mixed):
    eng, text_only, _, _ = mixed
    with pytest.raises(QueryError, match=rf"'{text_only[1]}' has no photo vector.*--by text"):
        eng.similar(text_only[1], by="photo")


def test_both_falls_back_to_text_and_collapses_identical_texts(mixed):
    eng, text_only, twin, with_photo = mixed
    res = eng.similar(text_only[0], k=10, by="both")
    assert len(res) == 10 and all(set(h.components) == {"text"} for h in res)
    assert twin not in res.ids and text_only[0] not in res.ids  # the twin is the product listed again
    assert res.understanding["near_duplicates_collapsed"] >= 1
    # a product with a photo still finds text-only products through the text side
    found = set()
    for pid in with_photo:
        found |= set(eng.similar(pid, k=10, by="both").ids) & set(text_only)
    assert found

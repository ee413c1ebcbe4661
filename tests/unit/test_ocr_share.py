"""The photo-text components count by how much of the query the photos' printed words can explain
(QualityConfig.ocr_share_power): a brand printed on photos decides for "puma", not for a whole title."""

from __future__ import annotations

from shoplens.records import Product
from shoplens.store.lexical import LexicalIndex


def test_known_share_counts_query_words_found_in_any_photo_text(tmp_path):
    texts = ["PUMA", "adidas originals", ""]
    idx = LexicalIndex.build(tmp_path / "photo_lex", [Product(id=str(i)) for i in range(3)], texts)
    assert idx.known_share("puma") == 1.0
    assert idx.known_share("Puma Men Logo Black Tshirts") == 1 / 5
    assert idx.known_share("adidas originals black") == 2 / 3
    assert idx.known_share("nike") == 0.0
    assert idx.known_share("!!!") == 0.0  # no tokens
    assert idx.known_share("nike", ["puma"]) == 1 / 2  # extra tokens (a Chinese query's English reading) count

"""The ranker's feature schema: which columns a photo-only search holds, where the colour part sits."""

from __future__ import annotations

from types import SimpleNamespace

from shoplens.rank.features import COMPONENTS, TEXT_COMPONENTS, colour_part, feature_names, text_features


def test_photo_only_searches_keep_the_photo_profile_and_behaviour_columns():
    names = feature_names()
    held = {names[i] for i in text_features()}
    assert {"bm25:inv_rank", "ocr_dense:e5:score_rel", "cos:text:e5", "attr_match_share", "query_ctr"} <= held
    kept = set(names) - held
    assert {"position_log", "fused_rel", "image:inv_rank", "image_to_text:score_rel", "ctr", "recency"} <= kept
    assert {n for n in kept if n.startswith("profile")} == {n for n in names if n.startswith("profile")}
    assert set(TEXT_COMPONENTS) < set(COMPONENTS)


def test_colour_part_follows_the_image_vector_layout():
    enc = {
        "mobilenet_v2": {"modality": "image", "dim": 1280},
        "colour": {"modality": "image", "dim": 80},
        "efficientnet_lite0": {"modality": "image", "dim": 1280},
        "e5": {"modality": "text", "dim": 384},
    }
    # parts are concatenated in name order (features/combine.py): colour first
    assert colour_part(SimpleNamespace(encoders=enc, image_part_weights={"colour": 0.5})) == slice(0, 80)
    enc["aaa_net"] = {"modality": "image", "dim": 16}
    assert colour_part(SimpleNamespace(encoders=enc, image_part_weights={})) == slice(16, 96)
    # a part weighted 0 is dropped from the vector; no colour encoder, no colour part
    assert colour_part(SimpleNamespace(encoders=enc, image_part_weights={"aaa_net": 0})) == slice(0, 80)
    assert colour_part(SimpleNamespace(encoders=enc, image_part_weights={"colour": 0})) is None

"""The heads' attribute MLP on raw photo features: fitted with the heads, saved with them, read by
re-scoring only when the raw features are given, and fed from a store's combined image vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shoplens.align import Heads
from shoplens.align.train import train_heads
from shoplens.features.combine import combine_image
from shoplens.search.photo_parts import image_parts, part_layout

from .test_align_heads import CFG, synthetic


@pytest.fixture(scope="module")
def trained():
    data = synthetic(n=400, seed=3)
    heads, _ = train_heads(data, CFG.with_(attribute_mlp_hidden=32, attribute_mlp_seeds=2), progress=False)
    return data, heads


def test_mlp_is_fitted_with_the_heads_and_reads_the_visible_field(trained):
    data, heads = trained
    mlp = heads.attribute_mlp
    assert mlp is not None and mlp.inputs == ["cnn", "colour"] and set(mlp.classes) == {"type", "colour", "gender"}
    x = mlp.features(data.image)
    pred = mlp.log_probs(x, "type").argmax(1)
    acc = float(np.mean(pred == data.attr[:, 0]))
    assert acc > 0.7, acc  # "type" is visible in the synthetic image features; chance ~0.4 (3 classes)
    noise = float(np.mean(mlp.log_probs(x, "gender").argmax(1) == data.attr[:, 2]))
    assert noise < acc - 0.15, (noise, acc)
    np.testing.assert_allclose(np.exp(mlp.log_probs(x[:5], "colour")).sum(1), 1.0, atol=1e-5)
    # switched off: no MLP
    off, _ = train_heads(data, CFG.with_(epochs=2, attribute_mlp_hidden=0), progress=False)
    assert off.attribute_mlp is None


def test_re_scoring_uses_the_mlp_only_with_raw_features(trained):
    data, heads = trained
    emb = heads.embed_image(data.image)[:30]
    raw = {k: v[:30] for k, v in data.image.items()}
    want = {"type": "a", "colour": "b"}
    linear = heads.attribute_log_probs(emb, want, {"colour": 0.3})
    assert heads.attribute_log_probs(emb, want, {"colour": 0.3}, None).tolist() == linear.tolist()
    mlp = heads.attribute_mlp
    x = mlp.features(raw)
    expect = mlp.log_probs(x, "type")[:, 0] + np.log(0.3 + 0.7 * np.exp(mlp.log_probs(x, "colour")[:, 1]))
    np.testing.assert_allclose(heads.attribute_log_probs(emb, want, {"colour": 0.3}, raw), expect, atol=1e-5)
    # read once and kept (as search does): the same scores
    kept = mlp.all_log_probs(x, list(mlp.classes))
    np.testing.assert_allclose(
        heads.attribute_log_probs(emb, want, {"colour": 0.3}, mlp_log_probs=kept), expect, atol=1e-5
    )
    # a value the MLP does not know adds nothing, with or without its readings
    assert np.all(heads.attribute_log_probs(emb, {"colour": "zzz"}, mlp_log_probs=kept) == 0)
    # raw features missing an input the MLP needs: the linear classifiers, as before
    np.testing.assert_allclose(heads.attribute_log_probs(emb, want, {"colour": 0.3}, {"cnn": raw["cnn"]}), linear)


def test_save_load_keeps_the_mlp_and_the_shared_space(tmp_path, trained):
    data, heads = trained
    heads.save(tmp_path / "h")
    meta = json.loads((tmp_path / "h" / "heads.json").read_text())
    assert meta["format_version"] == 3 and meta["attribute_mlp"]["members"] == 2
    loaded = Heads.load(tmp_path / "h")
    assert loaded.fingerprint == heads.fingerprint
    x = heads.attribute_mlp.features(data.image)
    np.testing.assert_allclose(
        loaded.attribute_mlp.log_probs(x, "type"), heads.attribute_mlp.log_probs(x, "type"), atol=0.05
    )
    # the MLP is not part of the shared space: stored aligned vectors stay valid without it
    bare = Heads.load(tmp_path / "h")
    bare.attribute_mlp = None
    assert bare.space_fingerprint == heads.space_fingerprint and bare.fingerprint != heads.fingerprint


def test_image_parts_recover_each_encoders_unit_features():
    rng = np.random.default_rng(0)
    feats = {"mobilenet_v2": rng.normal(size=(4, 12)), "colour": np.abs(rng.normal(size=(4, 5)))}
    encoders = {
        "mobilenet_v2": {"modality": "image", "dim": 12},
        "colour": {"modality": "image", "dim": 5},
        "e5": {"modality": "text", "dim": 7},
    }
    weights = {"colour": 0.5}
    combined = combine_image({k: v.astype(np.float32) for k, v in feats.items()}, weights)
    layout = part_layout(encoders, weights)
    assert layout == [("colour", 5), ("mobilenet_v2", 12)]
    parts = image_parts(combined, layout)
    assert parts is not None
    for k, v in feats.items():
        np.testing.assert_allclose(parts[k], v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-5)
    # a part weighted 0 is not in the combined vectors: the layout drops it, and a wrong width is refused
    assert part_layout(encoders, {"colour": 0.0}) == [("mobilenet_v2", 12)]
    assert image_parts(combined, [("mobilenet_v2", 12)]) is None


def test_with_a_refit_the_mlp_is_fitted_once_on_every_product(monkeypatch):
    """The validation run's heads are replaced by the refit ones: an MLP fitted for them would be
    thrown away (minutes on the shipped catalog), so only the refit heads get one, on every product."""
    import shoplens.align.train as train

    data = synthetic(n=240, seed=5)
    fitted: list[int] = []
    real = train.fit_attribute_mlp

    def counting(parts, labels, **kw):
        fitted.append(len(next(iter(parts.values()))))
        return real(parts, labels, **kw)

    monkeypatch.setattr(train, "fit_attribute_mlp", counting)
    cfg = CFG.with_(epochs=2, refit_full=True, val_fraction=0.2, attribute_mlp_hidden=16, attribute_mlp_seeds=1)
    heads, metrics = train_heads(data, cfg, progress=False)
    assert metrics["refit_full"] and metrics["val_products"] > 0
    assert fitted == [data.n] and heads.attribute_mlp is not None
    # without a refit, the validated heads keep theirs (fitted on the training products only)
    fitted.clear()
    heads, metrics = train_heads(data, cfg.with_(refit_full=False), progress=False)
    assert fitted == [metrics["train_products"]] and heads.attribute_mlp is not None

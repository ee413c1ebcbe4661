"""Ensembles of alignment heads: one wider unit vector, exact w.r.t. the members, saved and loaded."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from shoplens.align import AlignConfig, Heads, HeadsError
from shoplens.align.heads import ensemble_heads
from shoplens.align.train import train_heads
from tests.unit.test_align_heads import CFG, synthetic


@pytest.fixture(scope="module")
def members():
    data = synthetic()
    cfg = CFG.with_(multitask_weight=0.1, epochs=5)
    # different training rows -> different centring/scaling per member (folded in exactly)
    a, _ = train_heads(data, cfg, train_idx=np.arange(0, 200), val_idx=np.zeros(0, int), progress=False)
    b, _ = train_heads(data, cfg.with_(seed=1), train_idx=np.arange(40, 240), val_idx=np.zeros(0, int), progress=False)
    return data, [a, b]


def _l2(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_ensemble_is_scaled_concatenation_of_members(members):
    data, hs = members
    ens = ensemble_heads(hs)
    assert ens.dim == 64 and ens.groups == 2
    for side in ("image", "text"):
        feats = data.image if side == "image" else data.text
        got = getattr(ens, f"embed_{side}")(feats)
        want = np.concatenate([getattr(h, f"embed_{side}")(feats) for h in hs], axis=1) / np.sqrt(2)
        assert np.allclose(got, want, atol=1e-5)
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # cosine in the ensemble space = mean of the members' cosines
    ti, ii = ens.embed_text(data.text), ens.embed_image(data.image)
    mean_cos = np.mean([h.embed_text(data.text) @ h.embed_image(data.image).T for h in hs], axis=0)
    assert np.allclose(ti @ ii.T, mean_cos, atol=1e-5)
    # zero rows stay zero
    z = {k: np.zeros_like(v[:2]) for k, v in data.image.items()}
    assert np.all(ens.embed_image(z) == 0)


def test_ensemble_classifiers_average_member_logits(members):
    data, hs = members
    ens = ensemble_heads(hs)
    emb = ens.embed_image(data.image)
    got = ens.attribute_log_probs(emb, {"type": "b", "colour": "c"})
    want = np.zeros(len(emb))
    for fld, val in (("type", "b"), ("colour", "c")):
        logits = np.mean([h.embed_image(data.image) @ h.classifiers[fld][1] + h.classifiers[fld][2] for h in hs], 0)
        ls = logits - logits.max(1, keepdims=True)
        ls = ls - np.log(np.exp(ls).sum(1, keepdims=True))
        want += ls[:, ["a", "b", "c"].index(val)]
    assert np.allclose(got, want, atol=1e-4)


def test_ensemble_save_load_round_trip(tmp_path, members):
    data, hs = members
    ens = ensemble_heads(hs)
    ens.save(tmp_path / "e")
    meta = json.loads((tmp_path / "e" / "heads.json").read_text())
    assert meta["format_version"] == 2 and meta["image"]["groups"] == 2 and meta["ensemble"]["members"] == 2
    back = Heads.load(tmp_path / "e")
    assert back.fingerprint == ens.fingerprint and back.groups == 2 and back.dim == 64
    assert np.allclose(back.embed_image(data.image), ens.quantised().embed_image(data.image), atol=1e-5)
    replace(hs[0], attribute_mlp=None).save(tmp_path / "single")  # with an attribute MLP it writes 3
    assert json.loads((tmp_path / "single" / "heads.json").read_text())["format_version"] == 1
    assert ensemble_heads([hs[0]]) is hs[0]


def test_ensemble_rejects_mismatched_members(members):
    data, hs = members
    other = train_heads(data, CFG.with_(image_inputs=("cnn",), epochs=1), progress=False)[0]
    with pytest.raises(HeadsError):
        ensemble_heads([hs[0], other])
    with pytest.raises(HeadsError):
        ensemble_heads([])


def test_train_heads_with_ensemble_config():
    data = synthetic()
    heads, metrics = train_heads(data, CFG.with_(ensemble=2, epochs=4), progress=False)
    assert heads.groups == 2 and heads.dim == 2 * CFG.dim
    assert heads.meta["recipe"]["ensemble"] == 2 and heads.meta["ensemble"]["seeds"] == [0, 1]
    assert {r["member"] for r in metrics["history"]} == {1, 2}
    _far_above_chance(metrics["validation"]["text_to_image"])


def test_two_captions_per_product_trains():
    data = synthetic()
    heads, metrics = train_heads(data, CFG.with_(captions_per_product=2, epochs=4), progress=False)
    _far_above_chance(metrics["validation"]["text_to_image"])


def _far_above_chance(val):
    """R@10 of one target among n: a random ranking hits with p = 10/n per query (binomial)."""
    from ..grading import binom_tail, min_passing

    n = val["n"]
    need = min_passing(lambda t: binom_tail(n, min(1.0, 10 / n), t))
    assert round(val["R@10"] * n) >= need, (val, need)


def test_config_round_trip_keeps_new_fields():
    cfg = AlignConfig(ensemble=3, captions_per_product=2)
    assert AlignConfig.from_json(cfg.to_json()) == cfg


def test_title_loss_trains_and_changes_the_space():
    """The extra title-only InfoNCE (AlignConfig.title_loss_weight) is part of the loss: the same
    seed gives other weights, and titles still find their photos far above chance."""
    data = synthetic()
    cfg = CFG.with_(captions_per_product=2, epochs=4)
    plain, _ = train_heads(data, cfg, progress=False)
    heads, metrics = train_heads(data, cfg.with_(title_loss_weight=1.0), progress=False)
    assert heads.meta["recipe"]["title_loss_weight"] == 1.0
    assert not np.allclose(plain.text.W, heads.text.W)
    _far_above_chance(metrics["validation"]["text_to_image"])


def test_members_trained_in_parallel_processes_equal_one_after_another():
    data = synthetic()
    cfg = CFG.with_(ensemble=2, epochs=3)
    one, m1 = train_heads(data, cfg, progress=False)
    par, m2 = train_heads(data, cfg.with_(workers=2), progress=False)
    assert np.allclose(one.text.W, par.text.W) and np.allclose(one.image.W, par.image.W)
    assert m1["validation"] == m2["validation"]
    assert "workers" not in par.meta["recipe"]

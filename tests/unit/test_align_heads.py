"""Alignment heads: numpy inference, save/load round trip, fingerprints, determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from shoplens.align import AlignConfig, Heads, HeadsError, default_heads_path
from shoplens.align.train import AlignData, retrieval_metrics, train_heads, untrained_heads


def _l2(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic(n=240, seed=0) -> AlignData:
    """Images and titles that share a hidden latent, plus 3 attribute fields."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 16))
    img = {
        "cnn": _l2(z @ rng.normal(size=(16, 40)) + 0.1 * rng.normal(size=(n, 40))).astype(np.float32),
        "colour": _l2(np.abs(rng.normal(size=(n, 8)))).astype(np.float32),
    }
    txt = {"e5": _l2(z @ rng.normal(size=(16, 24)) + 0.1 * rng.normal(size=(n, 24))).astype(np.float32)}
    attr = rng.integers(0, 3, size=(n, 3))
    attr[:, 0] = np.digitize(z[:, 0], [-0.4, 0.4])  # "type" is visible in the image; the others are noise
    return AlignData(
        image=img,
        text=txt,
        product_ids=[str(i) for i in range(n)],
        attr=attr,
        fields=("type", "colour", "gender"),
        classes={f: ["a", "b", "c"] for f in ("type", "colour", "gender")},
        title_cap=np.arange(n),
        title_group=np.arange(n),
        attr_caps=[np.zeros(0, int)] * n,
        text_only_caps=[np.zeros(0, int)] * n,
        cap_kind=np.zeros(n, int),
        cap_attr=-np.ones((n, 3), int),
        cap_group=np.arange(n),
        input_fingerprints={"cnn": "fp-cnn", "colour": "fp-col", "e5": "fp-e5"},
    )


CFG = AlignConfig(
    image_inputs=("cnn", "colour"),
    text_inputs=("e5",),
    dim=32,
    epochs=15,
    batch_size=64,
    attribute_captions=False,
    refit_full=False,
    val_fraction=0.25,
    min_val=10,
    ensemble=1,
    captions_per_product=1,
    input_dropout=0.1,
)


@pytest.fixture(scope="module")
def trained():
    data = synthetic()
    heads, metrics = train_heads(data, CFG.with_(multitask_weight=0.1), progress=False)
    return data, heads, metrics


def test_training_beats_untrained_and_reports_metrics(trained):
    data, heads, metrics = trained
    val = metrics["validation"]
    assert set(val) == {"text_to_image", "image_to_text", "attribute_accuracy"}
    for d in (val["text_to_image"], val["image_to_text"]):
        assert set(d) >= {"R@1", "R@5", "R@10", "MRR"}
    rnd = untrained_heads(data, CFG)
    idx = np.arange(data.n)
    grp = data.title_group
    before = retrieval_metrics(rnd.embed_text(data.text), rnd.embed_image(data.image), grp, grp)
    after = retrieval_metrics(heads.embed_text(data.text), heads.embed_image(data.image), grp, grp)
    assert after["MRR"] > before["MRR"] + 0.2, (before, after)
    chance_mrr = sum(1 / r for r in range(1, len(idx) + 1)) / len(idx)  # expected MRR of a random ranking
    assert after["MRR"] > 5 * chance_mrr, (after, chance_mrr)


def test_attribute_classifiers_are_refit_on_the_final_embedding(trained):
    data, heads, metrics = trained
    acc = metrics["validation"]["attribute_accuracy"]
    assert set(acc) == {"type", "colour", "gender"}
    assert acc["type"] > 0.6, acc  # learnable from the image (chance ~0.4)
    assert acc["colour"] < 0.6 and acc["gender"] < 0.6, acc  # pure noise stays near chance
    assert heads.meta["classifier_fit"]["C"] == CFG.classifier_c
    # jointly trained classifiers are kept when the refit is switched off
    joint, m2 = train_heads(data, CFG.with_(multitask_weight=0.1, classifier_c=0.0, epochs=3), progress=False)
    assert "classifier_fit" not in joint.meta and set(joint.classifiers) == {"type", "colour", "gender"}


def test_attribute_floors_make_a_field_a_preference(trained):
    data, heads, _ = trained
    emb = heads.embed_image(data.image)[:20]
    hard = heads.attribute_log_probs(emb, {"type": "a", "colour": "b"})
    soft = heads.attribute_log_probs(emb, {"type": "a", "colour": "b"}, {"colour": 0.3})
    p_col = np.exp(heads.attribute_log_probs(emb, {"colour": "b"}))
    p_type = np.exp(heads.attribute_log_probs(emb, {"type": "a"}))
    np.testing.assert_allclose(hard, np.log(p_type) + np.log(p_col), atol=1e-4)
    np.testing.assert_allclose(soft, np.log(p_type) + np.log(0.3 + 0.7 * p_col), atol=1e-4)
    assert np.all(soft >= hard - 1e-6)
    # unknown fields / values contribute nothing
    assert np.all(heads.attribute_log_probs(emb, {"material": "silk", "type": "zzz"}) == 0)


def test_embeddings_are_normalised_and_empty_rows_stay_empty(trained):
    data, heads, _ = trained
    feats = {k: v[:5].copy() for k, v in data.image.items()}
    for v in feats.values():
        v[2] = 0.0
    e = heads.embed_image(feats)
    assert e.shape == (5, 32) and e.dtype == np.float32
    norms = np.linalg.norm(e, axis=1)
    assert np.allclose(norms[[0, 1, 3, 4]], 1.0, atol=1e-5) and norms[2] == 0.0
    with pytest.raises(HeadsError, match="colour"):
        heads.embed_image({"cnn": data.image["cnn"][:2]})
    with pytest.raises(HeadsError, match="40-d"):
        heads.embed_image({"cnn": data.image["cnn"][:2, :10], "colour": data.image["colour"][:2]})


def test_save_load_round_trip(tmp_path, trained):
    data, heads, metrics = trained
    heads.meta["metrics"] = {"validation": metrics["validation"]}
    heads.save(tmp_path / "h")
    meta = json.loads((tmp_path / "h" / "heads.json").read_text())
    for key in ("format_version", "fingerprint", "dim", "text_mode", "input_fingerprints", "recipe", "seed", "metrics"):
        assert key in meta
    loaded = Heads.load(tmp_path / "h")
    assert loaded.fingerprint == heads.fingerprint == meta["fingerprint"]
    assert loaded.image_inputs == ["cnn", "colour"] and loaded.text_inputs == ["e5"]
    assert loaded.input_fingerprints == {"cnn": "fp-cnn", "colour": "fp-col", "e5": "fp-e5"}
    q = heads.quantised()
    np.testing.assert_allclose(loaded.embed_image(data.image), q.embed_image(data.image), atol=1e-5)
    np.testing.assert_allclose(loaded.embed_text(data.text), heads.embed_text(data.text), atol=2e-2)
    assert set(loaded.classifiers) == {"type", "colour", "gender"}
    pred = loaded.predict_attributes(loaded.embed_image(data.image)[:3])
    assert len(pred) == 3 and set(pred[0]) == {"type", "colour", "gender"}
    assert loaded.check_compatible({"cnn": "fp-cnn", "e5": "other"}) == ["e5"]


def test_fingerprint_changes_with_weights_and_detects_torn_save(tmp_path, trained):
    _, heads, _ = trained
    heads.save(tmp_path / "a")
    other = heads.quantised()
    other.text.W = other.text.W + 0.01
    assert other.fingerprint != heads.fingerprint
    other.save(tmp_path / "b")
    # a heads.json from one save next to the weights of another is refused
    (tmp_path / "a" / "heads.npz").write_bytes((tmp_path / "b" / "heads.npz").read_bytes())
    with pytest.raises(HeadsError):
        Heads.load(tmp_path / "a")
    with pytest.raises(HeadsError, match="no trained heads"):
        Heads.load(tmp_path / "missing")


def test_versioned_dir_with_current(tmp_path, trained):
    _, heads, _ = trained
    heads.save(tmp_path / "v0001")
    (tmp_path / "CURRENT").write_text("v0001\n")
    assert Heads.load(tmp_path).fingerprint == heads.fingerprint


def test_training_is_deterministic():
    data = synthetic(seed=1)
    a, ma = train_heads(data, CFG.with_(epochs=5), progress=False)
    b, mb = train_heads(data, CFG.with_(epochs=5), progress=False)
    assert a.fingerprint == b.fingerprint
    assert ma["validation"] == mb["validation"]
    c, _ = train_heads(data, CFG.with_(epochs=5, seed=7), progress=False)
    assert c.fingerprint != a.fingerprint


def test_inference_does_not_import_torch():
    path = default_heads_path()
    code = (
        "import sys, numpy as np\n"
        "from shoplens.align import Heads\n"
        f"h = Heads.load({str(path)!r})\n"
        "feats = {n: np.ones((2, d), np.float32) for n, d in zip(h.image.inputs, h.image.input_dims)}\n"
        "assert h.embed_image(feats).shape == (2, h.dim)\n"
        "assert 'torch' not in sys.modules\n"
    )
    assert (path / "heads.json").is_file(), "the shipped default heads are missing from the package"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n", [520, 1100, 1030])
def test_batches_cover_every_pair_once_when_the_last_batch_is_folded_in(n):
    """A short last batch is merged into the one before it: no pair lost, none repeated, no crash
    (520 pairs with batch 512 used to raise IndexError; 1100 dropped a whole batch)."""
    from shoplens.align.train import _batches

    data = synthetic(n=8)
    idx = np.arange(n)
    got = _batches(np.random.default_rng(0), idx, data, CFG.with_(batch_size=512))
    flat = np.concatenate(got)
    assert sorted(flat.tolist()) == list(range(n))
    assert all(len(b) >= 512 // 4 for b in got)

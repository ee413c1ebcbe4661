"""Which image encoders a store's heads read: the store's own when it opted into another CNN."""

from __future__ import annotations

from types import SimpleNamespace

from shoplens.align.config import AlignConfig
from shoplens.align.run import store_image_inputs


def encoders(*image: str) -> dict:
    text = {n: SimpleNamespace(modality="text") for n in ("e5", "use")}
    return {**text, **{n: SimpleNamespace(modality="image") for n in image}}


def test_default_store_keeps_the_default_recipe():
    cfg = AlignConfig()
    assert store_image_inputs(cfg, encoders("mobilenet_v2", "efficientnet_lite0", "colour")) == cfg


def test_store_with_another_cnn_trains_on_its_own_encoders():
    got = store_image_inputs(AlignConfig(), encoders("mobilenet_v2", "efficientnet_lite2", "colour"))
    assert got.image_inputs == ("mobilenet_v2", "efficientnet_lite2", "colour")
    added = store_image_inputs(AlignConfig(), encoders("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2"))
    assert added.image_inputs == ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2")


def test_a_recipe_that_names_its_inputs_keeps_them():
    cfg = AlignConfig(image_inputs=("mobilenet_v2", "colour"))
    assert store_image_inputs(cfg, encoders("mobilenet_v2", "efficientnet_lite2", "colour")) is cfg
    assert store_image_inputs(AlignConfig(), encoders()) == AlignConfig()  # text-only store: nothing to read

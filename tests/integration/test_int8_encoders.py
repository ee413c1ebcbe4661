"""A store built with int8 image encoders: int8 vectors throughout, float ones never mixed in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ..conftest import FASHION, fashion_rows, write_catalog

pytestmark = pytest.mark.usefixtures("shared_data")


def test_int8_store_is_searched_with_int8_encoders_whatever_the_config_says(tmp_path, engine_config):
    from shoplens.config import BuildConfig
    from shoplens.engine import Engine

    rows = fashion_rows(40, offset=900)
    cat = write_catalog(tmp_path / "catalog.csv", rows)
    int8_cfg = replace(engine_config, encoders=replace(engine_config.encoders, int8=True))
    store = tmp_path / "store"
    with Engine.build(cat, store, int8_cfg, BuildConfig(progress=False, auto_align=False)) as eng:
        recorded = {n: e["fingerprint"] for n, e in eng.manifest.encoders.items()}
        for name in ("mobilenet_v2", "efficientnet_lite0"):
            enc = eng.encoders.image[name]
            assert enc.int8 and recorded[name] == enc.fingerprint()
            q8 = enc.onnx_path()
            enc.use_int8(False)
            float_path = enc.onnx_path()
            assert recorded[name] != enc.fingerprint()  # the float model is another model
            enc.use_int8(True)
            assert q8.is_file() and float_path.is_file()
            assert q8.stat().st_size < 0.5 * float_path.stat().st_size  # int8 weights
        # the shipped heads read float features: an int8 store may not use them
        assert eng.heads is None
    # opened with the float configuration, queries still encode photos as the store's vectors were
    with Engine.open(store, engine_config) as eng:
        assert all(eng.encoders.image[n].int8 for n in ("mobilenet_v2", "efficientnet_lite0"))
        photo = FASHION / rows[7]["image"]
        res = eng.search(image=photo, k=5)
        assert res.ids and res.ids[0] == rows[7]["id"]  # chance: 1 in 40

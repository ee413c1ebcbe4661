"""int8 image encoders are a different model as far as caches, stores and heads can tell."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from shoplens.config import EncoderConfig, EngineConfig
from shoplens.config_file import build_fingerprint
from shoplens.encoders import registry
from shoplens.encoders.onnx_cnn import INT8_TAG


def test_int8_gives_the_onnx_image_encoders_their_own_fingerprint_and_file(tmp_path: Path):
    for name in ("mobilenet_v2", "efficientnet_lite0"):
        f = registry.create(name, threads=1, batch_size=1, cache_dir=tmp_path)
        q = registry.create(name, threads=1, batch_size=1, cache_dir=tmp_path, int8=True)
        assert q.fingerprint() != f.fingerprint()
        assert q.preprocess_tag() == f.preprocess_tag() + INT8_TAG
        assert q.onnx_path() != f.onnx_path() and q.onnx_path().parent == f.onnx_path().parent
        q.use_int8(False)  # switching back is the float encoder again
        assert q.fingerprint() == f.fingerprint()


def test_int8_leaves_text_and_colour_encoders_alone(tmp_path: Path):
    for name in ("e5", "use", "colour"):
        f = registry.create(name, threads=1, batch_size=1, cache_dir=tmp_path)
        q = registry.create(name, threads=1, batch_size=1, cache_dir=tmp_path, int8=True)
        assert q.fingerprint() == f.fingerprint()
        assert not getattr(q, "int8", False)


def test_build_fingerprint_changes_only_when_int8_is_on():
    cfg = EngineConfig()
    on = replace(cfg, encoders=replace(cfg.encoders, int8=True))
    assert build_fingerprint(on, "lex") != build_fingerprint(cfg, "lex")
    assert EncoderConfig().int8 is False

"""`[index] ocr` is checked when a store's file names it: a typo is an error naming the key, before any
encoder runs; `--no-ocr` is the flag form of `ocr = "off"`."""

from __future__ import annotations

import argparse

import pytest

from shoplens.cli.common import engine_overrides
from shoplens.errors import ConfigError
from shoplens.features.ocr import check_mode


def test_mode_values():
    for mode in ("auto", "on", "off"):
        check_mode(mode)
    with pytest.raises(ConfigError, match=r"\[index\] ocr = 'yes'"):
        check_mode("yes")


def test_no_ocr_flag():
    assert engine_overrides(argparse.Namespace(no_ocr=True))["index.ocr"] == "off"
    assert "index.ocr" not in engine_overrides(argparse.Namespace(no_ocr=False))

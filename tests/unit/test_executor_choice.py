"""The executor choice: [build] executor / --executor, validated before any encoding."""

from __future__ import annotations

import argparse

import pytest

from shoplens.cli.common import engine_overrides
from shoplens.cli.main import build_parser
from shoplens.config_file import COMMAND_LINE, FILE_NAME, STORE_FILE, load_settings
from shoplens.errors import ConfigError
from shoplens.features.executors import EXECUTORS, check_executor


def test_store_file_and_flags_choose_the_executor(tmp_path):
    (tmp_path / FILE_NAME).write_text('[build]\nexecutor = "ray"\nray_block_size = 16\n', encoding="utf-8")
    s = load_settings(tmp_path)
    assert s.build.executor == "ray" and s.build.ray_block_size == 16 and s.build.ray_address is None
    assert s.sources["build.executor"] == STORE_FILE
    args = build_parser().parse_args(["index", "c.csv", "--store", "x", "--executor", "local", "--ray-address", "h:1"])
    s = load_settings(tmp_path, overrides=engine_overrides(args))
    assert s.build.executor == "local" and s.build.ray_address == "h:1"
    assert s.sources["build.executor"] == COMMAND_LINE
    # a flag not given leaves the store file's choice
    s = load_settings(tmp_path, overrides=engine_overrides(argparse.Namespace()))
    assert s.build.executor == "ray"


def test_unknown_executor_and_bad_block_size_are_config_errors(tmp_path):
    assert EXECUTORS == ("local", "ray") and check_executor("ray") == "ray"
    with pytest.raises(ConfigError, match="expected one of local, ray"):
        check_executor("dask")
    (tmp_path / FILE_NAME).write_text("[build]\nray_block_size = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ray_block_size"):
        load_settings(tmp_path)
    with pytest.raises(SystemExit):  # argparse: the choices are local and ray
        build_parser().parse_args(["index", "c.csv", "--store", "x", "--executor", "spark"])

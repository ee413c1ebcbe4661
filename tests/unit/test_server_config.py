"""[server] in STORE/shoplens.toml: `serve` flags > environment > the file > defaults; the admin token
never from the file; bad values one line naming where they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoplens.config import ServerConfig
from shoplens.config_file import COMMAND_LINE, DEFAULT, FILE_NAME, STORE_FILE, load_settings
from shoplens.errors import ConfigError
from shoplens.server.settings import ServerSettings

TOKEN = "t" * 20


def store_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / FILE_NAME).write_text(text, encoding="utf-8")
    return tmp_path


def test_file_environment_and_flags_in_order_of_precedence(tmp_path):
    store = store_with(tmp_path, "[server]\ncache_size = 0\nmax_upload_bytes = 2048\nsearch_timeout_s = 5\n")
    env = {"SHOPLENS_MAX_UPLOAD_BYTES": "4096", "SHOPLENS_SEARCH_TIMEOUT_S": "2.5", "SHOPLENS_ADMIN_TOKEN": TOKEN}
    s = ServerSettings.resolve(store, {"search_timeout_s": 1.0, "threads": None}, env)
    assert (s.cache_size, s.max_upload_bytes, s.search_timeout_s) == (0, 4096, 1.0)
    assert s.max_json_bytes == ServerConfig().max_json_bytes and s.threads is None
    assert s.admin_token == TOKEN and s.store == store
    sources = load_settings(store, environ=env, overrides={"server.search_timeout_s": 1.0}).effective()
    assert sources["server.cache_size"] == {"value": 0, "source": STORE_FILE}
    assert sources["server.max_upload_bytes"] == {"value": 4096, "source": "environment $SHOPLENS_MAX_UPLOAD_BYTES"}
    assert sources["server.search_timeout_s"]["source"] == COMMAND_LINE
    assert sources["server.threads"] == {"value": None, "source": DEFAULT}


def test_without_an_environment_the_variables_are_not_read(tmp_path, monkeypatch):
    """The library reads no globals: only `serve`/`info` hand os.environ in."""
    monkeypatch.setenv("SHOPLENS_CACHE_SIZE", "7")
    assert load_settings(tmp_path).server.cache_size == ServerConfig().cache_size
    assert ServerSettings.resolve(tmp_path, environ={"SHOPLENS_CACHE_SIZE": "7"}).cache_size == 7


@pytest.mark.parametrize(
    "text, message",
    [
        ("[server]\ncache_size = -1\n", "'server.cache_size' must be >= 0, got -1"),
        ("[server]\nsearch_timeout_s = 'soon'\n", "'server.search_timeout_s' must be a number, not str"),
        (
            "[server]\nmax_uploud_bytes = 1\n",
            "unknown key 'server.max_uploud_bytes'; did you mean 'server.max_upload_bytes'",
        ),
        ("[server]\nthreads = 0\n", "'server.threads' must be >= 1"),
    ],
)
def test_bad_file_values_are_one_line_naming_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as e:
        ServerSettings.resolve(store_with(tmp_path, text), environ={})
    assert str(e.value).startswith(str(tmp_path / FILE_NAME)) and message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("key", ["admin_token", "admin_token_file"])
def test_the_admin_token_is_refused_in_the_file_and_the_error_says_where_it_goes(tmp_path, key):
    store = store_with(tmp_path, f'[server]\n{key} = "{TOKEN}"\n')
    with pytest.raises(ConfigError, match=rf"'server\.{key}' is a secret.*\$SHOPLENS_ADMIN_TOKEN.*--admin-token-file"):
        load_settings(store)


def test_bad_environment_values_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"^\$SHOPLENS_CACHE_SIZE: 'server.cache_size' must be an integer, not str"):
        ServerSettings.resolve(tmp_path, environ={"SHOPLENS_CACHE_SIZE": "many"})
    with pytest.raises(ConfigError, match=r"^\$SHOPLENS_REFRESH_INTERVAL_S: 'server.refresh_interval_s' must be >="):
        ServerSettings.resolve(tmp_path, environ={"SHOPLENS_REFRESH_INTERVAL_S": "0"})
    assert ServerSettings.resolve(tmp_path, environ={"SHOPLENS_CACHE_SIZE": " "}).cache_size == 1024  # blank = unset


def test_a_bad_flag_value_is_an_error_too(tmp_path):
    with pytest.raises(ConfigError, match=r"^command line: 'server.cache_size' must be >= 0"):
        ServerSettings.resolve(tmp_path, {"cache_size": -5}, {})

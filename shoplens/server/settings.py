"""Server settings: the store's [server] table (`config.ServerConfig`) under environment variables
under `shoplens serve` flags, plus the store and the admin token. uvicorn workers (each builds its
own app) resolve them the same way from the environment `serve` hands them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import ENV_ADMIN_TOKEN, ENV_ADMIN_TOKEN_FILE, ServerConfig
from ..config_file import load_settings
from ..errors import ConfigError

ENV_STORE = "SHOPLENS_STORE"
__all__ = ["ENV_ADMIN_TOKEN", "ENV_ADMIN_TOKEN_FILE", "ENV_STORE", "ServerSettings", "env_name", "read_admin_token"]


@dataclass(frozen=True, kw_only=True)
class ServerSettings(ServerConfig):
    store: Path
    # Never a default: admin routes are off (404) unless a token is configured.
    admin_token: str | None = None

    @classmethod
    def resolve(
        cls,
        store: str | Path,
        flags: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        admin_token_file: str | Path | None = None,
    ) -> ServerSettings:
        """`flags` (ServerConfig field -> value, None = not given) > `environ` > [server] > defaults."""
        overrides = {f"server.{k}": v for k, v in (flags or {}).items()}
        server = load_settings(store, overrides=overrides, environ=environ).server
        token = read_admin_token(admin_token_file, environ if environ is not None else {})
        return cls(store=Path(store), admin_token=token, **asdict(server))


def env_name(field: str) -> str:
    """The environment variable a ServerConfig field is read from."""
    return ServerConfig.__dataclass_fields__[field].metadata["env"]


def read_admin_token(token_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The admin token from `--admin-token-file`, else $SHOPLENS_ADMIN_TOKEN_FILE, else $SHOPLENS_ADMIN_TOKEN."""
    env = os.environ if environ is None else environ
    path = token_file or env.get(ENV_ADMIN_TOKEN_FILE)
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"admin token file {path}: cannot read it ({e.strerror or e})") from None
        if len(token) < 16:
            raise ConfigError(f"admin token file {path}: the token must be at least 16 characters")
        return token
    token = env.get(ENV_ADMIN_TOKEN, "").strip()
    if token and len(token) < 16:
        raise ConfigError(f"${ENV_ADMIN_TOKEN} must be at least 16 characters")
    return token or None


def settings_from_env() -> ServerSettings:
    store = os.environ.get(ENV_STORE)
    if not store:
        raise ConfigError(f"${ENV_STORE} must name the store directory to serve")
    return ServerSettings.resolve(store, environ=os.environ)

"""Server settings: one frozen dataclass, filled by `shoplens serve` or, for uvicorn workers, from
environment variables (each worker process builds its own app from them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

ENV_STORE = "SHOPLENS_STORE"
ENV_ADMIN_TOKEN = "SHOPLENS_ADMIN_TOKEN"
ENV_ADMIN_TOKEN_FILE = "SHOPLENS_ADMIN_TOKEN_FILE"
ENV_THREADS = "SHOPLENS_THREADS"


@dataclass(frozen=True)
class ServerSettings:
    store: Path
    # Whole request bodies: a photo upload (multipart) may be this large; anything else far less.
    max_upload_bytes: int = 10 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    max_events_per_request: int = 1000
    # Result pages kept in memory (each a few KB); 0 turns the cache off.
    cache_size: int = 1024
    # A search still running after this answers 503; the model call finishes in its thread.
    search_timeout_s: float = 30.0
    # Never a default: admin routes are off (404) unless a token is configured.
    admin_token: str | None = None
    # How often a worker looks at the store's CURRENT to pick up a generation another process published.
    refresh_interval_s: float = 2.0
    threads: int | None = None


def read_admin_token(token_file: str | Path | None = None) -> str | None:
    """The admin token from `--admin-token-file`, else $SHOPLENS_ADMIN_TOKEN_FILE, else $SHOPLENS_ADMIN_TOKEN."""
    path = token_file or os.environ.get(ENV_ADMIN_TOKEN_FILE)
    if path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"admin token file {path}: cannot read it ({e.strerror or e})") from None
        if len(token) < 16:
            raise ConfigError(f"admin token file {path}: the token must be at least 16 characters")
        return token
    token = os.environ.get(ENV_ADMIN_TOKEN, "").strip()
    if token and len(token) < 16:
        raise ConfigError(f"${ENV_ADMIN_TOKEN} must be at least 16 characters")
    return token or None


def settings_from_env() -> ServerSettings:
    store = os.environ.get(ENV_STORE)
    if not store:
        raise ConfigError(f"${ENV_STORE} must name the store directory to serve")
    threads = os.environ.get(ENV_THREADS)
    return ServerSettings(store=Path(store), admin_token=read_admin_token(), threads=int(threads) if threads else None)

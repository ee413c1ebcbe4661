"""A real uvicorn server on a free loopback port over a copy of the session's real store (240
shared fashion products with photos), and a tiny stdlib HTTP client for it."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ADMIN_TOKEN = "test-admin-token-" + "x" * 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LiveServer:
    def __init__(self, app, store: Path):
        import uvicorn

        self.app, self.store = app, store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout=120
    ) -> Answer:
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Answer(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def post_json(self, path: str, doc: Any, headers: dict[str, str] | None = None) -> Answer:
        return self.request(
            "POST", path, json.dumps(doc).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    def post_form(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> Answer:
        body, ctype = multipart(fields, files)
        return self.request("POST", path, body, {"Content-Type": ctype})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, (name, data, ctype) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n"
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="session")
def served_store(small_store, tmp_path_factory) -> Path:
    """A copy of the session store: the server's reindex and feedback writes stay out of other tests."""
    dst = tmp_path_factory.mktemp("served") / "store"
    shutil.copytree(small_store, dst, ignore=shutil.ignore_patterns(".lock", "feedback.sqlite*"))
    return dst


@pytest.fixture(scope="session")
def server(served_store, engine_config):
    from shoplens.server.app import create_app
    from shoplens.server.settings import ServerSettings

    app = create_app(ServerSettings(store=served_store, admin_token=ADMIN_TOKEN), config=engine_config)
    with LiveServer(app, served_store) as s:
        yield s

"""`shoplens serve` as a user runs it: a real process that prints its URL and answers; with
--workers 2 (import-string factory, store from the environment); a bad store is one line, exit 2.
The store's [server] table and $SHOPLENS_* variables reach every worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from .conftest import free_port

pytestmark = pytest.mark.slow
BIN = [sys.executable, "-m", "shoplens"]


def _serve(store, *extra, env=None):
    port = free_port()
    p = subprocess.Popen(
        [*BIN, "serve", "--store", str(store), "--port", str(port), "--threads", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return p, port


def _get(port: int, path: str, deadline_s: float = 120):
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as r:
                return r.status, r.read()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_prints_url_and_answers(served_store, workers):
    settings = served_store / "shoplens.toml"
    settings.write_text("[server]\ncache_size = 0\nmax_events_per_request = 1\n", encoding="utf-8")
    env = {**os.environ, "SHOPLENS_MAX_EVENTS_PER_REQUEST": "2"}  # the environment wins over the file
    p, port = _serve(served_store, "--workers", str(workers), env=env)
    try:
        line = p.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line
        status, body = _get(port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = _get(port, "/search?q=white+shirt&k=3")
        assert status == 200 and len(json.loads(body)["results"]) == 3
        status, body = _get(port, "/")
        assert status == 200 and b"<title>" in body
        # cache_size = 0 in every worker: with the default cache, at most one answer per worker is uncached
        pages = [json.loads(_get(port, "/search?q=white+shirt&k=3")[1]) for _ in range(4)]
        assert not any(page["cached"] for page in pages)
        events = json.dumps([{"action_name": "click", "object_id": "x"}] * 3).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/events", events, method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=60)
        assert "the limit is 2" in e.value.read().decode()
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
        finally:
            settings.unlink()  # the session's store serves other tests
    assert p.returncode == 0, p.stderr.read()


def test_serve_on_a_missing_store_is_one_line_exit_2(tmp_path):
    for workers in ("1", "2"):
        p = subprocess.run(
            [*BIN, "serve", "--store", str(tmp_path / "none"), "--port", str(free_port()), "--workers", workers],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "no shoplens store" in p.stderr, p.stderr

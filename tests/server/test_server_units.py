"""Server parts that need no model: the result cache, metrics text, filter parsing, admin token
reading, error-to-status mapping, and the streaming body limit (on a bare ASGI app)."""

from __future__ import annotations

import asyncio

import pytest

from shoplens.errors import ConfigError, EventError, ImageError, QueryError
from shoplens.server.cache import ResultCache
from shoplens.server.errors import NotAvailable, NotFound, status_for
from shoplens.server.metrics import Metrics
from shoplens.server.middleware import ServingMiddleware
from shoplens.server.routes_search import filters_from
from shoplens.server.settings import read_admin_token


def test_result_cache_is_lru_and_counts():
    c = ResultCache(2)
    c.put(("a",), 1)
    c.put(("b",), 2)
    assert c.get(("a",)) == 1  # a is now most recent
    c.put(("c",), 3)  # evicts b
    assert c.get(("b",)) is None and c.get(("c",)) == 3
    assert (c.hits, c.misses) == (2, 1) and c.hit_rate == pytest.approx(2 / 3)
    off = ResultCache(0)
    off.put(("a",), 1)
    assert off.get(("a",)) is None and len(off) == 0


def test_metrics_text_has_counts_histogram_and_cache():
    m = Metrics()
    m.observe("/search", "GET", 200, 0.02)
    m.observe("/search", "GET", 500, 0.2)
    m.observe("/recommend", "GET", 501, 0.001)
    text = m.render(3, 1, 2, "gen-000004", 1)
    assert 'shoplens_http_requests_total{route="/search",method="GET",status="200"} 1' in text
    assert 'shoplens_http_request_duration_seconds_bucket{route="/search",method="GET",le="0.025"} 1' in text
    assert 'shoplens_http_request_duration_seconds_bucket{route="/search",method="GET",le="+Inf"} 2' in text
    assert 'shoplens_http_errors_total{route="/search",method="GET"} 1' in text
    assert 'errors_total{route="/recommend"' not in text  # 501 is "not in this build", not a failure
    assert "shoplens_cache_hit_ratio 0.750000" in text and 'generation="gen-000004"' in text


def test_filters_from_query_params():
    assert filters_from(["gender:Women", "gender:Girls", "price<=50"], None) == {
        "gender": ["Women", "Girls"],
        "price": "<=50",
    }
    assert filters_from(None, '{"baseColour": ["Red", "Blue"]}') == {"baseColour": ["Red", "Blue"]}
    assert filters_from(["usage:Smart Casual"], None) == {"usage": "Smart Casual"}
    for bad in (["gender"], ["gender:"]):
        with pytest.raises(QueryError, match="field:value"):
            filters_from(bad, None)
    with pytest.raises(QueryError, match="not valid JSON"):
        filters_from(None, "{gender")
    with pytest.raises(QueryError, match="JSON dict"):
        filters_from(None, "[]")
    with pytest.raises(QueryError, match="filters.gender"):
        filters_from(None, '{"gender": {"x": 1}}')


def test_admin_token_from_file_or_env(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOPLENS_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("SHOPLENS_ADMIN_TOKEN_FILE", raising=False)
    assert read_admin_token() is None  # never a default: admin is off
    monkeypatch.setenv("SHOPLENS_ADMIN_TOKEN", "short")
    with pytest.raises(ConfigError, match="at least 16"):
        read_admin_token()
    monkeypatch.setenv("SHOPLENS_ADMIN_TOKEN", "e" * 20)
    assert read_admin_token() == "e" * 20
    f = tmp_path / "token"
    f.write_text("f" * 24 + "\n")
    assert read_admin_token(f) == "f" * 24  # the file wins over the environment
    with pytest.raises(ConfigError, match="cannot read"):
        read_admin_token(tmp_path / "missing")


def test_error_statuses():
    assert status_for(NotFound("x")) == 404
    assert status_for(NotAvailable("x")) == 501
    assert status_for(ImageError("<bytes>", "not a recognised image")) == 415
    assert status_for(ImageError("<bytes>", "corrupt or truncated image (x)")) == 400
    assert status_for(ImageError("<bytes>", "5 bytes exceeds the 4-byte limit")) == 413
    assert status_for(EventError("x")) == 422
    assert status_for(QueryError("x")) == 400


def _asgi(limit: int, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """Run the middleware over an app that reads the whole body; returns (status, bytes the app read)."""
    read = {"n": 0}

    async def app(scope, receive, send):
        while True:
            msg = await receive()
            read["n"] += len(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        return queue.pop(0)

    async def send(msg):
        sent.append(msg)

    mw = ServingMiddleware(app, metrics=Metrics(), max_upload_bytes=limit, max_json_bytes=limit)
    scope = {"type": "http", "method": "POST", "path": "/search", "headers": headers}
    asyncio.run(mw(scope, receive, send))
    return sent[0]["status"], read["n"]


def test_body_limit_checks_content_length_then_every_chunk():
    status, read = _asgi(100, [b"x" * 10], [(b"content-length", b"1073741824")])
    assert (status, read) == (413, 0)  # refused before reading anything
    status, read = _asgi(100, [b"x" * 60] * 50, [])  # no Content-Length: streamed
    assert status == 413 and read <= 120  # stopped at the chunk that crossed the limit
    assert _asgi(100, [b"x" * 40, b"y" * 40], []) == (200, 80)
    assert _asgi(100, [b""], [(b"content-length", b"abc")])[0] == 400


class _FakeReader:
    def __init__(self, name):
        from pathlib import Path

        self.gen = Path("/store") / name


class _FakeEngine:
    """Only what LiveEngine touches: the generation name, the store, close()."""

    def __init__(self, name):
        from pathlib import Path

        self.reader, self.store, self.closed = _FakeReader(name), Path("/store"), False

    def close(self):
        self.closed = True


def test_live_engine_swaps_and_closes_the_old_one_after_its_last_request():
    from shoplens.server.live import LiveEngine

    old, new = _FakeEngine("gen-000001"), _FakeEngine("gen-000002")
    live = LiveEngine(old, opener=lambda cur: cur, refresh_interval_s=3600)
    with live.borrow() as e1:
        assert e1 is old
        live.swap(new)
        assert live.generation == "gen-000002" and live.swaps == 1
        with live.borrow() as e2:
            assert e2 is new  # new requests get the new generation at once
        assert not old.closed  # a request still holds the old one
    assert old.closed and not new.closed
    live.close()
    assert new.closed

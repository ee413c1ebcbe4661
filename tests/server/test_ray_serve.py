"""`shoplens serve --ray --replicas 2` as a user runs it, on a real local Ray: the same API and the
same hits as the in-process server, models loaded once per replica, a clean stop on SIGINT."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import free_port

pytestmark = pytest.mark.slow
QUERIES = ["white shirt", "black watch", "men blue jeans", "women handbag", "sports shoes"]


def _get(port: int, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as r:
        return r.status, json.loads(r.read())


def test_ray_serve_two_replicas_same_hits_models_loaded_once(served_store, server, onnx_cache, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(served_store, store, ignore=shutil.ignore_patterns(".lock", "feedback.sqlite*"))
    # the session's ONNX exports: replicas load them instead of exporting their own
    (store / "shoplens.toml").write_text(f'[encoders]\ncache_dir = "{onnx_cache}"\n', encoding="utf-8")
    port = free_port()
    p = subprocess.Popen(
        [sys.executable, "-m", "shoplens", "serve", "--store", str(store), "--port", str(port), "--ray"]
        + ["--replicas", "2", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = p.stdout.readline()  # printed once both replicas are up
        assert f"http://127.0.0.1:{port}/" in line and "2 replica(s)" in line, (line, p.poll())
        status, health = _get(port, "/healthz")
        assert status == 200 and health["status"] == "ok" and health["products"] == 240
        for q in QUERIES:
            path = f"/search?q={q.replace(' ', '+')}&k=10"
            status, got = _get(port, path)
            want = server.get(path).json()
            assert status == 200
            assert [h["id"] for h in got["results"]] == [h["id"] for h in want["results"]], q
        replicas: dict[int, set[float]] = {}
        for _ in range(40):
            _, info = _get(port, "/replica")
            replicas.setdefault(info["pid"], set()).add(info["loaded_at"])
        # two replica processes answered (all 40 on one: chance 2**-39), each loaded its models once
        assert len(replicas) == 2, replicas
        assert all(len(times) == 1 for times in replicas.values()), replicas
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
    assert p.returncode == 0, p.stderr.read()[-3000:]
    time.sleep(1)
    with pytest.raises(OSError):  # the proxy is gone with the deployment
        _get(port, "/healthz")


def test_ray_serve_on_a_missing_store_is_one_line_exit_2(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "shoplens", "serve", "--store", str(tmp_path / "none"), "--ray", "--replicas", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "no shoplens store" in p.stderr, p.stderr

"""Opt-in pytest plugin: CPU seconds (this process's threads + the children it waited for) and wall
seconds of every test's setup, call and teardown, written as JSON to $SHOPLENS_CPU_TIMES at the end.

On a shared machine wall times follow the load; CPU seconds follow the work, so two versions of a
test compare fairly even when run side by side:

    SHOPLENS_CPU_TIMES=new.json .venv/bin/python -m pytest -q -p tests.cpu_times tests/e2e/test_crash_safety.py
"""

from __future__ import annotations

import json
import os
import resource
import time

import pytest

_rows: list[tuple[str, str, float, float]] = []


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(phase: str):
    @pytest.hookimpl(hookwrapper=True)
    def hook(item):
        cpu, wall = _cpu(), time.monotonic()
        yield
        _rows.append((item.nodeid, phase, round(_cpu() - cpu, 1), round(time.monotonic() - wall, 1)))

    return hook


pytest_runtest_setup = _timed("setup")
pytest_runtest_call = _timed("call")
pytest_runtest_teardown = _timed("teardown")


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("SHOPLENS_CPU_TIMES")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(_rows, f, indent=0)

"""CI runs what the README tells a contributor to run, and every test and benchmark finds the data one way."""

from __future__ import annotations

import re

from ..shared_data import ROOT


def test_ci_runs_exactly_the_readme_test_command():
    ci_last = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1].strip()
    readme = (ROOT / "README.md").read_text()
    commands = [line.split("  #")[0].strip() for line in readme.splitlines() if "pytest" in line and "setup.sh" in line]
    assert ci_last in commands, (ci_last, commands)


def test_no_machine_paths_or_old_data_variable():
    """Tests and benchmarks find shared data through $SHOPLENS_SHARED_DATA (tests/shared_data.py)."""
    offenders = []
    for folder in ("tests", "benchmarks", "scripts"):
        for f in (ROOT / folder).rglob("*.py"):
            text = f.read_text(encoding="utf-8")
            if f.name != "test_ci_contract.py" and re.search(r"[\"']/work/|SHOPLENS_DATA\b|parents\[3\]", text):
                offenders.append(str(f.relative_to(ROOT)))
    assert offenders == []

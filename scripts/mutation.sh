#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the modules where a silent change costs most: search/fuse.py,
# store/layout.py, store/builder.py, evaluate/metrics.py, catalog.py (list in pyproject.toml,
# [tool.mutmut]). Runs the unit tests against every mutant; not part of CI (tens of minutes on 2
# cores). Pass mutant-name globs to run a subset, e.g. scripts/mutation.sh "shoplens.search.fuse*".
set -euo pipefail
cd "$(dirname "$0")/.."
# mutmut runs the tests from ./mutants/, so the default ../shared/data would point elsewhere
export SHOPLENS_SHARED_DATA="${SHOPLENS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
nice .venv/bin/mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "$@" || true
.venv/bin/python scripts/mutation_score.py

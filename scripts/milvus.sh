#!/usr/bin/env bash
# A local Milvus standalone server (the `milvus` PyPI package that scripts/setup.sh installs) for
# development, tests and benchmarks:
#   scripts/milvus.sh start|stop|status [--data DIR] [--port N]
# Defaults: data in .milvus/ of the repo, gRPC on 127.0.0.1:19530. Then index with
#   shoplens index CATALOG --store DIR --vectors milvus://127.0.0.1:19530
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/milvus_service.py "$@"

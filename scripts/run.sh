#!/usr/bin/env bash
# Set everything up, then start the dashboard at http://localhost:8501 (`glassbox dashboard`).
# PORT=8502 for another port; extra arguments are Streamlit flags (--server.address 0.0.0.0, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "${VENV:-.venv}/bin/python" -m glassbox dashboard --server.port "${PORT:-8501}" "$@"

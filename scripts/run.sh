#!/usr/bin/env bash
# Set everything up, then start the dashboard at http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "${VENV:-.venv}/bin/python" -m streamlit run dashboard/app.py \
  --server.port "${PORT:-8501}" --browser.gatherUsageStats false "$@"

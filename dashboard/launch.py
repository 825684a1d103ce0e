"""`glassbox dashboard`: start Streamlit on this package's app, from any working directory."""
from __future__ import annotations

import os
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def streamlit_argv(args: list[str]) -> list[str]:
    """`streamlit run` arguments: the app, then the caller's flags (they win over config.toml)."""
    return ["run", str(APP), *args]


def main(args: list[str] | None = None) -> int:
    """Run the dashboard in this process until it is stopped; settings: dashboard/.streamlit/."""
    from streamlit.web import cli as stcli

    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    try:
        stcli.main(args=streamlit_argv(list(args or [])), prog_name="glassbox dashboard")
    except SystemExit as exc:  # click always exits; its code (2 for a bad flag) is ours
        return exc.code if isinstance(exc.code, int) else 1
    return 0

"""`glassbox dashboard`: start Streamlit on this package's app, from any working directory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # config.toml's default is 127.0.0.1
EXPOSED = ("glassbox: WARNING: listening on {host}, not only this machine: anyone who can reach "
           "it can upload a model (TorchScript runs code) and use the CPU; put it behind a "
           "reverse proxy with authentication and TLS (docs/security.md)")


def translate(args: list[str]) -> list[str]:
    """Our `--address HOST` (or `--address=HOST`) becomes Streamlit's `--server.address HOST`."""
    out, i = [], 0
    while i < len(args):
        if args[i] == "--address" and i + 1 < len(args):
            out += ["--server.address", args[i + 1]]
            i += 2
            continue
        arg = args[i]
        out.append("--server.address=" + arg.split("=", 1)[1] if arg.startswith("--address=")
                   else arg)
        i += 1
    return out


def address(args: list[str]) -> str:
    """The address Streamlit will bind: the last --server.address flag, then its environment
    variable, else the packaged config's 127.0.0.1."""
    found = os.environ.get("STREAMLIT_SERVER_ADDRESS") or LOOPBACK[0]
    for i, arg in enumerate(args):
        if arg == "--server.address" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--server.address="):
            found = arg.split("=", 1)[1]
    return found


def streamlit_argv(args: list[str]) -> list[str]:
    """`streamlit run` arguments: the app, then the caller's flags (they win over config.toml)."""
    return ["run", str(APP), *translate(args)]


def main(args: list[str] | None = None) -> int:
    """Run the dashboard in this process until it is stopped; settings: dashboard/.streamlit/."""
    from streamlit.web import cli as stcli

    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    argv = streamlit_argv(list(args or []))
    host = address(argv)
    if host not in LOOPBACK:
        print(EXPOSED.format(host=host), file=sys.stderr, flush=True)
    try:
        stcli.main(args=argv, prog_name="glassbox dashboard")
    except SystemExit as exc:  # click always exits; its code (2 for a bad flag) is ours
        return exc.code if isinstance(exc.code, int) else 1
    return 0

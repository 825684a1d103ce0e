"""The `glassbox` command: every `python -m explainers` sub-command, plus `glassbox dashboard`."""
from __future__ import annotations

import sys

from explainers import cli as explainers_cli

PROG = "glassbox"
DASHBOARD_HELP = (
    "start the dashboard (Streamlit) on http://localhost:8501 with the project's settings; "
    "any `streamlit run` flag may follow, e.g. --server.port 8502"
)
DASHBOARD_USAGE = f"""usage: {PROG} dashboard [STREAMLIT_FLAGS ...]

Start the Glassbox dashboard on http://localhost:8501 (bound to 127.0.0.1), from any folder.
Settings come from dashboard/.streamlit/config.toml inside the package; flags override them:
  --server.port PORT        another port
  --address HOST            listen on HOST instead (e.g. 0.0.0.0: every interface); prints a
                            warning: uploaded TorchScript runs code, so put it behind a reverse
                            proxy with authentication and TLS (docs/security.md)
Every `streamlit run` flag works (see `streamlit run --help`). Stop it with Ctrl+C.
"""


def build_parser() -> explainers_cli.Parser:
    """The explainers parser under the name `glassbox`, with a `dashboard` sub-command added."""
    from glassbox import __version__

    parser = explainers_cli.build_parser(PROG)
    parser.description = "Glassbox: explain PyTorch models headless (report, reproduce, ...) or in the dashboard."
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    next(a for a in parser._actions if a.dest == "command").add_parser("dashboard", add_help=False, help=DASHBOARD_HELP)
    return parser


def subcommands(parser: explainers_cli.Parser) -> list[str]:
    """The sub-command names a parser accepts, in order."""
    return list(next(a for a in parser._actions if a.dest == "command").choices)


def main(argv: list[str] | None = None) -> int:
    """Dispatch: `dashboard` starts Streamlit, anything else goes to explainers.cli.main."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["dashboard"]:
        if {"-h", "--help"} & set(argv[1:]):
            print(DASHBOARD_USAGE, end="")
            return 0
        from dashboard.launch import main as run_dashboard

        return run_dashboard(argv[1:])
    parser = build_parser()
    if not argv or argv[0] not in subcommands(parser):  # --help, --version, a typo: argparse says
        parser.parse_args(argv)
    return explainers_cli.main(argv, prog=PROG)

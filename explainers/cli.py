"""Headless command line: `python -m explainers report ...` and `... reproduce report.json`."""
from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from explainers.cli_args import (  # noqa: F401  (re-exported: sub-commands import them here)
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    out_path,
    parse_params,
)
from models.errors import GlassboxError, InputNotice

REPORT_HELP = (
    "Explain one input (or many) with several methods and write a report whose format is the "
    "extension of --out. A folder of images, a .txt/.csv of texts (one per line / a 'text' "
    "column) or a .csv of table rows gives one report per input in a folder named after --out, "
    "plus an index.html. Exit codes: 0 ok, 2 bad input or arguments (one-line reason), "
    "1 unexpected error (--debug shows the traceback)."
)


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and exits 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def build_parser(prog: str = "python -m explainers") -> Parser:
    p = Parser(prog=prog, description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    r = sub.add_parser("report", help="explain an input with several methods and write a report",
                       description=REPORT_HELP)
    r.add_argument("--model", required=True, help="built-in model name or path to a model")
    r.add_argument("--input", required=True,
                   help="image file or folder; text, .txt or .csv of texts; JSON row or .csv of rows")
    r.add_argument("--methods", required=True, help="comma-separated method keys")
    r.add_argument("--out", required=True, help="report file: .html, .pdf or .json")
    r.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    r.add_argument("--seed", type=int, default=0, help="seed for torch/numpy/random (default 0)")
    r.add_argument("--target", default=None,
                   help="class index or name (default: predicted); for a language model the "
                        "continuation to explain, e.g. --target=' superb' (default: its greedy "
                        "continuation, --param METHOD.max_new_tokens=N tokens)")
    r.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE",
                   help="a method parameter, e.g. integrated_gradients.n_steps=32 (repeatable)")
    r.add_argument("--debug", action="store_true", help="show tracebacks")
    q = sub.add_parser("reproduce", help="recompute a report's attributions and compare")
    q.add_argument("report", help="a report .json written by `report --out X.json`")
    q.add_argument("--device", default=None)
    q.add_argument("--rtol", type=float, default=None, help="relative tolerance (default 1e-3)")
    q.add_argument("--atol", type=float, default=None, help="absolute tolerance (default 1e-6)")
    q.add_argument("--debug", action="store_true")
    sub.add_parser("compress", add_help=False,
                   help="prune / quantize / distill a model and compare accuracy and explanations")
    from explainers.dataset.cli import add_parser as add_dataset

    add_dataset(sub)
    dr = sub.add_parser("dataset-report", help="write the HTML or JSON report of a data-set job",
                        description="Report of a folder written by `dataset --out DIR`: metrics, "
                        "confusion matrix, calibration, summaries. Exit 2 on bad input.")
    dr.add_argument("dir", help="the job folder (the --out of `dataset`)")
    dr.add_argument("--out", required=True, help="report file: .html or .json")
    dr.add_argument("--debug", action="store_true", help="show tracebacks")
    m = sub.add_parser("methods", help="list the methods that apply to a model")
    m.add_argument("--model", required=True)
    m.add_argument("--debug", action="store_true")
    return p


def main(argv: list[str] | None = None, prog: str = "python -m explainers") -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["compress"]:  # its own parser: the compression lab's options
        from explainers.compress_cli import main as compress_main

        return compress_main(argv[1:])
    args = build_parser(prog).parse_args(argv)
    with notices_to_stderr():
        return _run(args)


@contextmanager
def notices_to_stderr() -> Iterator[None]:
    """Each distinct InputNotice (text cut to the context, 16-bit image scaled...) printed once
    as one 'notice: ...' line on stderr; other warnings as before."""
    seen: set[str] = set()
    before = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, InputNotice):
            return before(message, category, filename, lineno, file, line)
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"notice: {text}", file=sys.stderr)
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("always", InputNotice)
        warnings.showwarning = show
        yield


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "dataset":
            from explainers.dataset.cli import command

            return command(args, parse_params)
        if args.command == "dataset-report":
            from explainers.report.dataset_report import command as dataset_report

            return dataset_report(args)
        from explainers.report import commands

        return {"report": commands.report, "reproduce": commands.reproduce,
                "methods": commands.methods}[args.command](args)
    except (GlassboxError, ValueError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # not a user error: still one line, the traceback on request
        if args.debug:
            traceback.print_exc()
        print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} "
              "(run again with --debug to see the traceback)", file=sys.stderr)
        return EXIT_FAIL


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__

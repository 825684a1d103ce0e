"""What the command line's sub-commands do (argument parsing lives in explainers/cli.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from explainers.base import Attribution, get_method, list_methods, resolve_target
from explainers.cli_args import EXIT_FAIL, EXIT_OK, EXIT_USAGE, out_path, parse_params
from explainers.report import build_report, save, seed_everything
from explainers.report import reproduce as recompute
from explainers.report.batch import index_html, read_inputs, safe_name
from explainers.report.reproduce import run_method
from models.errors import GlassboxError, InputError, UnsupportedError


def _methods(arg: str, model: Any) -> list[str]:
    methods = list(dict.fromkeys(m.strip() for m in arg.split(",") if m.strip()))
    if not methods:
        raise InputError("--methods is empty; allowed: " + ", ".join(list_methods(model)))
    for name in methods:
        explainer = get_method(name)
        if not explainer.supports(model):
            raise UnsupportedError(explainer.why_not(model))
    return methods


def _explain_all(model: Any, raw: Any, methods: list[str], params: dict[str, dict[str, Any]],
                 target: str | None, seed: int, bar: Any) -> list[Attribution]:
    results = []
    for name in methods:
        bar.set_postfix_str(name)
        seed_everything(seed)
        results.append(run_method(model, raw, name, target, {"seed": seed, **params[name]}))
        bar.update(1)
    return results


def report(args: argparse.Namespace) -> int:
    """Explain each input with every method and write one report per input (+ index)."""
    from models import load_model

    out = out_path(args.out)
    model = load_model(args.model, device=args.device)
    methods = _methods(args.methods, model)
    params = parse_params(args.param, methods, model)
    items, is_dir = read_inputs(args.input, model.info.modality, model.info.feature_names)
    if args.target is not None:
        resolve_target(model, None, args.target)  # a bad --target fails before any work
    batch = is_dir or len(items) > 1
    folder = out.parent / safe_name(out.stem, "report") if batch else out.parent
    rows, failed = _write_all(model, items, methods, params, args, folder if batch else None)
    if batch:
        folder.mkdir(parents=True, exist_ok=True)  # also when every input failed
        index = folder / "index.html"
        index.write_text(index_html(rows, f"Glassbox reports: {model.info.name}", failed),
                         encoding="utf-8")
        print(f"wrote {len(rows)} reports and {index}")
    else:
        print(f"wrote {out}")
    for name, why in failed:
        print(f"error: {name}: {' '.join(why.split())}", file=sys.stderr)
    return EXIT_USAGE if failed else EXIT_OK


def _prepare(model: Any, raw: Any) -> Any:
    """An input as every surface takes it: an image file decoded (size limit, 16-bit scaled),
    an exception from reading it raised, a long text cut to the model's context (a notice)."""
    from models.images import decode_image, warn_notices
    from models.text_fit import fitted_raw

    if isinstance(raw, Exception):
        raise raw
    if isinstance(raw, Path):
        return warn_notices(decode_image(raw))
    return fitted_raw(model, raw)


def _write_all(model: Any, items: list[tuple[str, Any]], methods: list[str],
               params: dict[str, dict[str, Any]], args: argparse.Namespace,
               folder: Path | None
               ) -> tuple[list[tuple[str, str, str, float]], list[tuple[str, str]]]:
    """One report per input: to --out for one input, into `folder` for a batch.

    In a batch a bad input is reported and skipped; alone it raises.
    """
    from tqdm import tqdm

    batch = folder is not None
    suffix = Path(args.out).suffix.lower()
    rows, failed = [], []
    with tqdm(total=len(items) * len(methods), unit="method", file=sys.stderr,
              disable=None) as bar:
        for i, (name, raw) in enumerate(items):
            bar.set_description(name[:30])
            target = folder / f"{i:03d}-{safe_name(name)}{suffix}" if batch else Path(args.out)
            try:
                raw = _prepare(model, raw)
                attributions = _explain_all(model, raw, methods, params, args.target, args.seed, bar)
                rep = build_report(model, raw, attributions, seed=args.seed)
                save(rep, target)
            except (GlassboxError, ValueError) as exc:
                if not batch:
                    raise
                failed.append((name, str(exc)))
                continue
            rows.append((name, target.name, rep.predicted_label,
                         float(rep.probabilities[rep.predicted])))
    return rows, failed


def reproduce(args: argparse.Namespace) -> int:
    """Recompute a report's attributions; exit 0 when every one is within tolerance, else 1."""
    from explainers.report.record import ATOL, RTOL

    path = Path(args.report)
    if not path.is_file():
        raise InputError(f"no such report file: {args.report!r}")
    rtol = RTOL if args.rtol is None else args.rtol
    atol = ATOL if args.atol is None else args.atol
    checks = recompute(path, device=args.device, rtol=rtol, atol=atol)
    if not checks:
        print("the report records no attributions; nothing to compare")
        return EXIT_OK
    width = max(len(c.method) for c in checks)
    for c in checks:
        status = "ok" if c.ok else "DIFFERS"
        note = f"  ({c.note})" if c.note else ""
        print(f"{c.method:<{width}}  max|diff| {c.max_abs_diff:.3g}  "
              f"tolerance {c.tolerance:.3g}  {status}{note}")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAIL


def methods(args: argparse.Namespace) -> int:
    """Print the method keys that apply to a model, one per line."""
    from models import load_model

    model = load_model(args.model)
    for name in list_methods(model):
        print(f"{name}\t{get_method(name).label}")
    return EXIT_OK

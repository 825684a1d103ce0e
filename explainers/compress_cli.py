"""`python -m explainers compress`: prune / quantize / distill a model and compare it, as JSON."""
from __future__ import annotations

import argparse
import json
import platform
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from models.errors import GlassboxError, InputError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
OPS = ("prune", "quantize", "distill")
REPORT_FORMATS = (".html", ".pdf")  # --out with these suffixes writes a report, else JSON


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m explainers compress", description=__doc__)
    p.add_argument("--model", required=True, help="built-in model name or path to a model")
    p.add_argument("--op", required=True, choices=OPS)
    p.add_argument("--amount", default="0.5",
                   help="prune: fraction(s) to remove, comma-separated for a sweep, e.g. 0,0.5,0.9")
    p.add_argument("--kind", default="unstructured", choices=("unstructured", "structured"),
                   help="prune: L1 weights (unstructured) or whole channels/rows (structured)")
    p.add_argument("--scope", default="global", choices=("global", "layer"),
                   help="prune unstructured: one threshold for all layers, or per layer")
    p.add_argument("--mode", default="int8", choices=("int8", "float16", "bfloat16"),
                   help="quantize: dynamic int8 (CPU) or a low-precision float cast")
    p.add_argument("--methods", default="", help="comma-separated methods whose drift to measure")
    p.add_argument("--n-explain", type=int, default=5, help="held-out inputs explained (5)")
    p.add_argument("--n-accuracy", type=int, default=None, help="held-out inputs scored (all)")
    p.add_argument("--batch-size", type=int, default=32, help="latency batch size (32)")
    p.add_argument("--runs", type=int, default=7, help="latency runs, median taken (7)")
    p.add_argument("--temperature", type=float, default=4.0, help="distill: softmax temperature")
    p.add_argument("--alpha", type=float, default=0.7, help="distill: soft-target loss weight")
    p.add_argument("--width", type=int, default=8, help="distill: student width")
    p.add_argument("--epochs", type=int, default=4, help="distill: epochs")
    p.add_argument("--max-seconds", type=float, default=180.0, help="distill: time bound (180)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None,
                   help="result .json, or a .html / .pdf report (default: print the JSON)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _amounts(text: str) -> list[float]:
    try:
        return [float(a) for a in text.split(",") if a.strip()]
    except ValueError as exc:
        raise InputError(f"--amount {text!r} is not a comma-separated list of numbers") from exc


def _progress(quiet: bool) -> Any:
    if quiet:
        return None
    from tqdm import tqdm

    bar = tqdm(total=1, file=sys.stderr, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Do the operation and the comparisons; the JSON-ready result."""
    return compute(args)[2]


def compute(args: argparse.Namespace) -> tuple[Any, list[Any], dict[str, Any]]:
    """(original model, its Comparisons, the JSON-ready result)."""
    from explainers import compare_models as cm
    from models import load_model
    from models.compress import DistillConfig, distill, quantize_adapter

    original = load_model(args.model, device=args.device)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    kw = dict(n_accuracy=args.n_accuracy, n_explain=args.n_explain, seed=args.seed,
              batch_size=args.batch_size, latency_runs=args.runs)
    progress = _progress(args.quiet)
    out: dict[str, Any] = {"model": original.info.name, "op": args.op, "methods": methods,
                           "args": {k: v for k, v in vars(args).items() if k != "debug"}}
    if args.op == "prune":
        rows = cm.sweep(original, _amounts(args.amount), methods, args.kind, args.scope,
                        progress=progress, **kw)
        comps = [c for _, c in rows]
    elif args.op == "quantize":
        q = quantize_adapter(original, args.mode)
        comps = [cm.compare(original, q, methods, progress=progress, **kw)]
    else:
        cfg = DistillConfig(temperature=args.temperature, alpha=args.alpha, width=args.width,
                            epochs=args.epochs, max_seconds=args.max_seconds, seed=args.seed)
        r = distill(original, cfg, progress=progress)
        out["distill"] = {k: getattr(r, k) for k in (
            "teacher_params", "student_params", "accuracy", "teacher_accuracy", "seconds",
            "steps_done", "steps_total", "stopped_early", "notice", "losses")}
        comps = [cm.compare(original, r.model, methods, progress=progress, **kw)]
    out["results"] = [c.to_dict() for c in comps]
    out["environment"] = _environment(original)
    return original, comps, out


def _distill_note(result: dict[str, Any]) -> str:
    d = result.get("distill")
    if not d:
        return ""
    return (f"Distilled student: {d['student_params']} parameters (teacher "
            f"{d['teacher_params']}), held-out accuracy {d['accuracy']:.4f} (teacher "
            f"{d['teacher_accuracy']:.4f}), {d['seconds']:.1f} s." + (
                f" {d['notice']}" if d["notice"] else ""))


def write_report(original: Any, comps: list[Any], result: dict[str, Any], out: str,
                 seed: int) -> Path:
    """An HTML/PDF report: the original's maps of one held-out input and the compression section."""
    from explainers.report import save
    from explainers.report.compression import compression_report

    report = compression_report(original, comps, seed=seed, note=_distill_note(result),
                                title=f"Glassbox compression report: {original.info.name} "
                                      f"({result['op']})")
    return save(report, out)


def _environment(model: Any) -> dict[str, str]:
    import captum
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__,
            "captum": captum.__version__, "device": str(model.device),
            "model_sha256": model.info.sha256}


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def summary(result: dict[str, Any]) -> str:
    """One line per compressed model: accuracy, agreement, size, latency, drift."""
    lines = []
    for r in result["results"]:
        drift = ", ".join(f"{m} rho={_num(d['spearman'])} top-k={_num(d['topk_overlap'])}"
                          + (f" (via {d['used_method']})" if d["used_method"] != m else "")
                          for m, d in r["drift"].items())
        lines.append(f"{r['compressed']}: accuracy {r['accuracy']:.4f} "
                     f"(original {r['accuracy_original']:.4f}), agreement {r['agreement']:.4f}, "
                     f"size {r['size']['bytes']} B (sparse {r['size']['sparse_bytes']} B), "
                     f"latency x{r['latency_ratio']:.2f}" + (f"; {drift}" if drift else ""))
        lines += [f"  notice: {n}" for n in r["notices"]]
    d = result.get("distill")
    if d:
        lines.append(f"student {d['student_params']} params vs teacher {d['teacher_params']}, "
                     f"{d['seconds']:.1f} s" + (f"; {d['notice']}" if d["notice"] else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit 0 on success, 2 on bad input (one line), 1 on any other failure."""
    args = build_parser().parse_args(argv)
    report = bool(args.out) and Path(args.out).suffix.lower() in REPORT_FORMATS
    try:
        original, comps, result = compute(args)
        if report:
            write_report(original, comps, result, args.out, args.seed)
    except GlassboxError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001  (reported with its type, exit 1)
        if args.debug:
            traceback.print_exc()
        print(f"failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        if not report:
            Path(args.out).write_text(text + "\n")
        print(summary(result))
        print(f"wrote {args.out}")
    else:
        print(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""Reproduce Adebayo et al. (2018): which methods pass the model-randomisation check per image model.

Run: `.venv/bin/python bench/sanity_table.py [--inputs 5] [--write docs/trust.md]`. For each image
built-in (and the image part of the fusion model) and each gradient/CAM method it runs
`explainers.metrics.sanity_check` (every layer randomised from the top down, 4 steps) on bundled
held-out samples and reports the mean final Spearman correlation of the signed and of the
absolute maps with the trained model's; a method passes when both stay under the threshold
(0.5) on average. With --write, the Markdown table replaces the block between the markers in
the given page.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers import list_methods  # noqa: E402
from explainers.metrics.sanity import sanity_check  # noqa: E402
from models import load_model  # noqa: E402

MODELS = {"mnist-cnn": None, "imagenet-efficientnet": None, "digit-text-fusion": "image"}
METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "gradient_shap",
           "deeplift", "guided_backprop", "grad_cam", "guided_grad_cam", "lrp")
BEGIN, END = "<!-- sanity-table:begin -->", "<!-- sanity-table:end -->"


def run_model(name: str, part: str | None, n: int, steps: int, threshold: float) -> dict:
    """{method: {"signed": [final rho per input], "absolute": [...], "seconds": s}}."""
    model = load_model(name)
    samples = model.samples(n, 0)
    out: dict = {}
    for method in [m for m in METHODS if m in list_methods(model)]:
        t0, signed, absolute = time.perf_counter(), [], []
        for raw, _ in samples:
            s = sanity_check(model, raw, method, {}, seed=0, max_steps=steps,
                             threshold=threshold, part=part)
            signed.append(s.variants["signed"][-1])
            absolute.append(s.variants["absolute"][-1])
        out[method] = {"signed": signed, "absolute": absolute,
                       "seconds": time.perf_counter() - t0}
        print(f"{name:22s} {method:22s} signed {np.mean(signed):+.2f} "
              f"|map| {np.mean(absolute):+.2f} ({out[method]['seconds']:.0f} s)", flush=True)
    return out


def cell(row: dict | None, threshold: float) -> str:
    if row is None:
        return "n/a"
    s, a = float(np.mean(row["signed"])), float(np.mean(row["absolute"]))
    failed = [v for v, x in (("signed", s), ("absolute", a)) if x >= threshold]
    verdict = "pass" if not failed else "**fail** (" + ", ".join(failed) + ")"
    return f"{s:.2f} / {a:.2f} {verdict}"


def table(results: dict, n: dict, threshold: float) -> str:
    models = list(results)
    head = "| method | " + " | ".join(
        f"{m}{' (image part)' if MODELS[m] else ''}, {n[m]} inputs" for m in models) + " |"
    lines = [head, "|---" * (len(models) + 1) + "|"]
    for method in METHODS:
        if not any(method in results[m] for m in models):
            continue
        lines.append(f"| {method} | " + " | ".join(
            cell(results[m].get(method), threshold) for m in models) + " |")
    return "\n".join(lines)


def write(page: Path, text: str) -> None:
    doc = page.read_text(encoding="utf-8")
    if BEGIN not in doc:
        raise SystemExit(f"{page} has no {BEGIN} marker")
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    page.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=5, help="held-out samples per model")
    ap.add_argument("--photos", type=int, default=3, help="samples for imagenet-efficientnet")
    ap.add_argument("--steps", type=int, default=4, help="randomisation steps (layer groups)")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--json", type=Path, help="also save the raw correlations here")
    ap.add_argument("--write", type=Path, help="page whose marked block gets the table")
    args = ap.parse_args()
    results, n = {}, {}
    for name in args.models.split(","):
        n[name] = args.photos if name == "imagenet-efficientnet" else args.inputs
        results[name] = run_model(name, MODELS[name], n[name], args.steps, args.threshold)
    text = table(results, n, args.threshold)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if args.write:
        write(args.write, text)


if __name__ == "__main__":
    main()

"""Smoke test for any interpreter: load every built-in, explain one input each, write one report.

Usage: python scripts/smoke.py [OUT_DIR]   (from a checkout, or with glassbox pip-installed)
Exit 0 when every built-in loads and explains; prints one line per model. Not part of CI: on
Python 3.12/3.13 torch comes from PyPI as a multi-GB CUDA build (see README).
"""
from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

try:
    import models  # noqa: F401  (an installed glassbox)
except ImportError:  # a checkout: the repository root holds the packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PREFERRED = ("saliency", "input_x_gradient", "integrated_gradients", "feature_ablation", "attention")
FALLBACK_INPUT = {"text": "a warm, funny film", "generation": "The film was"}


def pick_method(methods: list[str]) -> str:
    return next((m for m in PREFERRED if m in methods), methods[0])


def one_input(model):
    try:
        return model.samples(1)[0][0]
    except (AttributeError, IndexError, NotImplementedError):
        return FALLBACK_INPUT[model.info.modality]


def main(out_dir: Path) -> int:
    import torch

    from explainers import explain, list_methods
    from explainers.report import build_report, save
    from models import list_models, load_model
    from models.builtin.common import ASSETS

    print(f"python {platform.python_version()} · torch {torch.__version__} · assets {ASSETS}")
    failed, first = [], None
    for name in list_models():
        t0 = time.perf_counter()
        try:
            m = load_model(name)
            raw, method = one_input(m), pick_method(list_methods(m))
            a = explain(m, raw, method)
            first = first or (m, raw, [a])
            print(f"ok   {name:24s} {m.info.modality:10s} {method:22s} {time.perf_counter() - t0:6.1f} s")
        except Exception as exc:  # report every model, then fail
            failed.append(name)
            print(f"FAIL {name:24s} {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
    if first:
        path = save(build_report(*first, seed=0), out_dir / "smoke-report.html")
        print(f"report {path} ({path.stat().st_size // 1024} KB)")
    print(f"smoke: {len(list_models()) - len(failed)} of {len(list_models())} built-ins ok")
    return 1 if failed or not first else 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="glassbox-smoke-"))
    target.mkdir(parents=True, exist_ok=True)
    sys.exit(main(target))

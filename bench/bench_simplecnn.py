"""Benchmark: perturbation methods on the source material's SimpleCNN, explain() vs Captum defaults.

Run: `.venv/bin/python bench/bench_simplecnn.py [--runs 5] [--threads 1]`. The SimpleCNN
(conv 1->10 k5, conv 10->20 k5, fc 320->50->10 on 28x28; random weights, seed 0) is small, so
Captum's per-evaluation overhead dominates and batching has headroom: the goal is perturbation
methods 10x faster than Captum as called with its defaults (`perturbations_per_eval=1`), at
identical outputs. Each case runs explain() with its default parameters, then the same Captum
class with the same settings (window, mask, samples, seed, baseline) and only the batch left at
Captum's default; the outputs are asserted equal (rtol 1e-4 of the largest value), then timed
round-robin (medians). "Captum batched" is the direct call with perturbations_per_eval set by
hand to all at once; "floor" is one forward over every perturbed input at once.
"""
from __future__ import annotations

import argparse
import platform
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import measure  # noqa: E402

from explainers import explain  # noqa: E402
from explainers.methods._common import seed_all  # noqa: E402
from models.base import BaseAdapter, ModelInfo  # noqa: E402

SAMPLE = ROOT / "assets" / "samples" / "mnist-digit-3.png"


class SimpleCNN(nn.Module):
    """The source material's MNIST network."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        return self.fc2(F.relu(self.fc1(x.view(-1, 320))))


class SimpleAdapter(BaseAdapter):
    """Raw = a 28x28 grey image (array or path) -> [1, 1, 28, 28] in 0..1; baseline zeros."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        info = ModelInfo("simple-cnn", "image", tuple(str(d) for d in range(10)),
                         input_size=(28, 28))
        super().__init__(SimpleCNN(), info, "cpu")

    def preprocess(self, raw: Any) -> torch.Tensor:
        from PIL import Image

        img = np.asarray(Image.open(raw).convert("L")) if isinstance(raw, str | Path) else raw
        return torch.tensor(np.asarray(img), dtype=torch.float32)[None, None] / 255.0


def captum_call(name: str, m: SimpleAdapter, x: torch.Tensor, a: Any, ppe: int | None
                ) -> Callable[[], torch.Tensor]:
    """The direct Captum call with explain()'s settings; ppe None = Captum's default."""
    from captum import attr

    base, t, p = torch.zeros_like(x), a.target, a.params
    batch = {} if ppe is None else {"perturbations_per_eval": ppe}
    if name == "occlusion":
        k, s = p["sliding_window_shapes"], p["strides"]
        return lambda: attr.Occlusion(m.forward).attribute(
            x, sliding_window_shapes=(1, k, k), strides=(1, s, s), baselines=base, target=t,
            **batch)
    mask = torch.as_tensor(a.extras["segments"])[None, None]
    cls = {"feature_ablation": attr.FeatureAblation, "lime": attr.Lime,
           "kernel_shap": attr.KernelShap,
           "shapley_value_sampling": attr.ShapleyValueSampling}[name]
    extra = {"n_samples": p["n_samples"]} if "n_samples" in p else {}

    def go() -> torch.Tensor:
        seed_all(a.params["seed"])  # what explain() does for stochastic methods
        return cls(m.forward).attribute(x, baselines=base, target=t, feature_mask=mask,
                                        **extra, **batch)

    return go


def perturbations(name: str, a: Any) -> int:
    """How many perturbed inputs the method evaluates (for the batched call and the floor)."""
    p = a.params
    if name == "occlusion":
        k, s = p["sliding_window_shapes"], p["strides"]
        return ((28 - k) // s + 1) ** 2
    n = int(a.extras["segments"].max()) + 1
    return {"feature_ablation": n, "shapley_value_sampling": p.get("n_samples", 0) * n
            }.get(name, p.get("n_samples", n))


def floor(m: SimpleAdapter, x: torch.Tensor, n: int) -> Callable[[], torch.Tensor]:
    batch = x.expand(n, -1, -1, -1).clone()

    @torch.no_grad()
    def go() -> torch.Tensor:
        return m.forward(batch)

    return go





def case(name: str, m: SimpleAdapter, runs: int) -> dict[str, Any]:
    x = m.preprocess(SAMPLE)
    a = explain(m, SAMPLE, name)
    default = captum_call(name, m, x, a, None)
    ref = default()[0].mean(0).detach().numpy()
    scale = float(np.abs(ref).max()) or 1.0
    np.testing.assert_allclose(a.values, ref, rtol=1e-4, atol=1e-4 * scale)  # identical outputs
    n = perturbations(name, a)
    ms = measure({"ours": lambda: explain(m, SAMPLE, name), "default": default,
                  "batched": captum_call(name, m, x, a, n), "floor": floor(m, x, n)}, runs)
    diff = float(np.abs(a.values - ref).max())
    return {"name": name, "n": n, "batch": a.extras.get("batch_size"), "diff": diff, **ms}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    m = SimpleAdapter()
    print(f"SimpleCNN 28x28, CPU {platform.machine()}, {args.threads} threads, torch "
          f"{torch.__version__}; medians of {args.runs} runs after a warm-up")
    print("| method (explain() defaults) | perturbed inputs | our batch | explain() ms | "
          "Captum default ms | Captum batched ms | floor ms | vs Captum default | "
          "max abs diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("occlusion", "feature_ablation", "shapley_value_sampling", "kernel_shap",
                 "lime"):
        r = case(name, m, args.runs)
        print(f"| {name} | {r['n']} | {r['batch']} | {r['ours']:.1f} | {r['default']:.1f} | "
              f"{r['batched']:.1f} | {r['floor']:.1f} | {r['default'] / r['ours']:.1f}x | "
              f"{r['diff']:.1e} |")


if __name__ == "__main__":
    main()

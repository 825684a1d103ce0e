"""SHAP's own explainers: PartitionExplainer (image/text/tabular maskers) and GradientExplainer."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from explainers import baselines as bl
from explainers.base import Attribution, Param, register
from explainers.methods._common import BASELINES, IMAGE, MERGE, TABULAR, TEXT, Ctx, Method
from explainers.methods.path import N_BASELINES, completeness
from explainers.methods.perturbation import logit_fn


def sequential_linkage(n: int) -> np.ndarray:
    """A balanced binary tree over positions 0..n-1 merging neighbours only (scipy linkage
    format), the shape of tree shap's Text masker builds: coalitions are contiguous spans."""
    nodes = [(i, 1) for i in range(n)]  # (cluster id, size)
    rows, next_id, level = [], n, 1.0
    while len(nodes) > 1:
        merged = []
        for i in range(0, len(nodes) - 1, 2):
            (a, sa), (b, sb) = nodes[i], nodes[i + 1]
            rows.append([a, b, level, sa + sb])
            merged.append((next_id, sa + sb))
            next_id += 1
        if len(nodes) % 2:
            merged.append(nodes[-1])
        nodes, level = merged, level + 1.0
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


@register
class ShapPartitionMethod(Method):
    name = "shap_partition"
    label = "SHAP partition (Owen values)"
    modalities = frozenset({IMAGE, TEXT, TABULAR})
    needs = "forward passes; tabular: background(n) (HasBaselines)"
    help = ("shap.PartitionExplainer: hierarchical Shapley (Owen) values. Image: shap.maskers."
            "Image filled with the baseline; text: token-level Partition masker over contiguous "
            "spans, masked tokens become [PAD]/[MASK] in place; tabular: correlation clustering "
            "of a training background.")
    params = (Param("max_evals", "int", 500, "Model evaluations SHAP may use.", min=20,
                    max=20000, step=100), BASELINES, MERGE,
              Param("n_background", "int", 50, "Tabular: training rows in the background.",
                    min=2, max=500, step=10))
    only = {**Method.only, "n_background": (TABULAR,), "baselines": (IMAGE, TEXT)}

    def run(self, ctx: Ctx) -> Attribution:
        import shap

        x = ctx.x[0]
        evals = ctx.p["max_evals"]
        if ctx.modality == IMAGE:
            hwc = x[0].permute(1, 2, 0).detach().cpu().numpy()
            base = ctx.baseline()[0].permute(1, 2, 0).detach().cpu().numpy()
            masker = shap.maskers.Image(base, hwc.shape)
            f = logit_fn(ctx, evals + 2, evals)
            g = lambda z: f(np.asarray(z).reshape(-1, *hwc.shape)  # noqa: E731
                            .transpose(0, 3, 1, 2))
            data = hwc[None]
        elif ctx.modality == TEXT:
            base = ctx.baseline().detach().cpu().numpy()
            masker = shap.maskers.Partition(base, clustering=sequential_linkage(x.shape[-1]))
            g, data = self.id_fn(ctx, evals), x.detach().cpu().numpy()
        else:
            bg = bl.background(ctx.model, ctx.p["n_background"], ctx.seed, x).cpu().numpy()
            masker = shap.maskers.Partition(bg, clustering="correlation")
            g = logit_fn(ctx, evals * len(bg) + 2, evals * len(bg))
            data = x.detach().cpu().numpy()
        e = shap.PartitionExplainer(g, masker)(data, max_evals=evals, silent=True)
        values = np.asarray(e.values[0])
        values = values.transpose(2, 0, 1) if ctx.modality == IMAGE else values  # HWC -> CHW
        return ctx.finish(values, base_value=float(np.ravel(e.base_values)[0]))

    @staticmethod
    def id_fn(ctx: Ctx, evals: int):
        f = logit_fn(ctx, evals + 2, evals)
        return lambda z: f(np.rint(np.asarray(z, dtype=np.float64)).astype(np.int64))


class _TargetModule(nn.Module):
    """Only the target logit as a [batch, 1] output (shap explains every output otherwise)."""

    def __init__(self, inner: nn.Module, target: int):
        super().__init__()
        self.inner, self.target = inner, target

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self.inner(*x)[:, self.target: self.target + 1]


@register
class ShapGradientMethod(Method):
    name = "shap_gradient"
    label = "SHAP expected gradients"
    modalities = frozenset({IMAGE, TABULAR})
    gradients = True
    stochastic = True
    needs = "gradients, background(n) training samples (HasBaselines)"
    help = ("shap.GradientExplainer (expected gradients) against a training background; "
            "base_value = E[f(background)], efficiency holds in expectation (see delta).")
    params = (Param("n_samples", "int", 200, "Samples (background row, alpha) per input.",
                    min=10, max=5000, step=50), N_BASELINES)

    def run(self, ctx: Ctx) -> Attribution:
        import shap

        n = ctx.p["n_samples"]
        bg = bl.background(ctx.model, ctx.p["n_baselines"], ctx.seed, ctx.x[0])
        base_value = float(ctx.logit((bg,)).mean())
        module = _TargetModule(ctx.module(n), ctx.target)

        def go(batch: int) -> np.ndarray:
            explainer = shap.GradientExplainer(module, bg, batch_size=batch)
            return explainer.shap_values(ctx.x[0], nsamples=n, rseed=ctx.seed)

        phi = np.asarray(ctx.retry(go, n)).reshape(ctx.x[0].shape)
        attr = torch.as_tensor(phi)
        return ctx.finish(phi, delta=completeness(ctx, attr, base_value), base_value=base_value)

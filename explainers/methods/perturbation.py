"""Perturbation methods: occlusion, feature ablation, LIME, KernelSHAP (batched from memory)."""
from __future__ import annotations

import math

import numpy as np
import torch

from explainers import baselines as bl
from explainers import generation as gen
from explainers import superpixels as sp
from explainers.base import Attribution, Param, register
from explainers.batching import chunked
from explainers.methods._common import (
    BASELINES,
    FUSION,
    GENERATION,
    IMAGE,
    MERGE,
    TABULAR,
    TEXT,
    Ctx,
    Method,
)

FEATURE_MASK = Param("feature_mask", "choice", "slic", "Image regions: SLIC superpixels or a "
                     "square grid.", choices=sp.KINDS)
N_SEGMENTS = Param("n_segments", "int", 50, "About how many regions the image is cut into.",
                   min=4, max=1000, step=4)
N_SAMPLES = Param("n_samples", "int", 200, "Perturbed samples drawn.", min=10, max=10000,
                  step=50)
WITH_IMAGE = (IMAGE, FUSION)


def feature_mask(ctx: Ctx) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], int]:
    """Captum feature mask and its number of features: image regions, one per token/feature;
    fusion models get both (regions 0..S-1, then one feature per token)."""
    x = ctx.x[0]
    if ctx.modality in WITH_IMAGE:
        labels = sp.segments(ctx.model, ctx.raw, x, ctx.p["feature_mask"], ctx.p["n_segments"])
        regions, n = sp.mask_tensor(labels, x), int(labels.max()) + 1
        if ctx.modality == IMAGE:
            return regions, n
        ids = ctx.x[1]
        tokens = torch.arange(ids.shape[-1], device=ids.device)[None] + n
        return (regions, tokens), n + ids.shape[-1]
    n = x.shape[-1]
    return torch.arange(n, device=x.device)[None], n


class _Perturbation(Method):
    modalities = frozenset({IMAGE, TEXT, TABULAR, FUSION})
    with_generation = modalities | {GENERATION}  # the Captum methods LLMAttribution takes
    only = {**Method.only, "feature_mask": WITH_IMAGE, "n_segments": WITH_IMAGE}

    def with_mask(self, ctx: Ctx, extras: dict) -> tuple:
        mask, n = feature_mask(ctx)
        if ctx.modality in WITH_IMAGE:
            image_mask = mask[0] if isinstance(mask, tuple) else mask
            extras["segments"] = image_mask[0, 0].cpu().numpy()
        return mask, n

    def done(self, ctx: Ctx, attr: torch.Tensor, extras: dict, **kw) -> Attribution:
        """Finish; images also get extras['region_values'] (one value per segment)."""
        if "segments" in extras:
            labels = extras["segments"].ravel()
            image_attr = attr[0] if isinstance(attr, tuple) else attr
            flat = image_attr.detach()[0, 0].reshape(-1).double().cpu().numpy()
            region = np.zeros(int(labels.max()) + 1)
            region[labels] = flat
            extras["region_values"] = region
        return ctx.finish(attr, channels="mean", extras=extras, **kw)


@register
class OcclusionMethod(_Perturbation):
    name = "occlusion"
    label = "Occlusion"
    modalities = frozenset({IMAGE, TEXT, TABULAR})
    batchable = True
    needs = "forward passes only"
    help = "Slides a baseline-filled window over the input (Captum Occlusion), batched."
    params = (Param("sliding_window_shapes", "int", 0, "Window edge (pixels or tokens/features); "
                    "0 = auto (image side / 8, else 1).", min=0, max=512),
              Param("strides", "int", 0, "Step between windows; 0 = auto (half the window).",
                    min=0, max=512), BASELINES, MERGE)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import Occlusion

        x = ctx.x[0]
        k = ctx.p["sliding_window_shapes"] or (max(2, min(x.shape[-2:]) // 8)
                                               if ctx.modality == IMAGE else 1)
        s = ctx.p["strides"] or max(1, k // 2)
        ctx.used.update(sliding_window_shapes=k, strides=s)
        dims = x.shape[-2:] if ctx.modality == IMAGE else x.shape[-1:]
        windows = math.prod((d - min(k, d)) // s + 1 for d in dims)
        lead = (x.shape[1],) if ctx.modality == IMAGE else ()
        shape = lead + (k,) * len(dims)
        stride = lead + (s,) * len(dims)
        base = ctx.baseline()
        algo = Occlusion(ctx.forward(windows + 1))

        def go(batch: int) -> torch.Tensor:  # one perturbation covers every row of a batch
            return algo.attribute(ctx.inp, sliding_window_shapes=shape, strides=stride,
                                  baselines=base, target=ctx.target,
                                  perturbations_per_eval=max(1, batch // ctx.rows))

        return ctx.finish(ctx.retry(go, windows, grad=False), channels="mean")


@register
class FeatureAblationMethod(_Perturbation):
    name = "feature_ablation"
    label = "Feature ablation"
    needs = "forward passes only"
    help = "Replaces each region/token/feature by the baseline, one at a time (Captum)."
    modalities = _Perturbation.with_generation
    params = (FEATURE_MASK, N_SEGMENTS, BASELINES, MERGE)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import FeatureAblation

        if ctx.modality == GENERATION:
            return gen.perturb(ctx, FeatureAblation)
        extras: dict = {}
        mask, n = self.with_mask(ctx, extras)
        base = ctx.baseline()
        algo = FeatureAblation(ctx.forward(n + 1))

        def go(batch: int) -> torch.Tensor:
            return algo.attribute(ctx.inp, baselines=base, target=ctx.target, feature_mask=mask,
                                  perturbations_per_eval=batch)

        return self.done(ctx, ctx.retry(go, n, grad=False), extras)


@register
class LimeMethod(_Perturbation):
    name = "lime"
    label = "LIME"
    stochastic = True
    needs = "forward passes only"
    help = "Weighted sparse linear model on random on/off region samples (Captum Lime)."
    modalities = _Perturbation.with_generation
    params = (N_SAMPLES, FEATURE_MASK, N_SEGMENTS, BASELINES, MERGE)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import Lime

        if ctx.modality == GENERATION:
            return gen.perturb(ctx, Lime)
        extras: dict = {}
        mask, _n = self.with_mask(ctx, extras)
        base = ctx.baseline()
        n = ctx.p["n_samples"]
        algo = Lime(ctx.forward(n + 1))

        def go(batch: int) -> torch.Tensor:
            return algo.attribute(ctx.inp, baselines=base, target=ctx.target, feature_mask=mask,
                                  n_samples=n, perturbations_per_eval=batch)

        return self.done(ctx, ctx.retry(go, n, grad=False), extras)


@register
class KernelShapMethod(_Perturbation):
    name = "kernel_shap"
    label = "KernelSHAP"
    stochastic = True
    needs = "forward passes; tabular: background(n) (HasBaselines)"
    help = ("Shapley values by weighted regression on coalitions. Images/text: Captum KernelShap "
            "over regions/tokens against the baseline (base_value = f(baseline)). Tabular: "
            "shap.KernelExplainer with a training background (base_value = E[f(background)]).")
    params = (N_SAMPLES, FEATURE_MASK, N_SEGMENTS, BASELINES, MERGE,
              Param("n_background", "int", 20, "Tabular: training rows in the background.",
                    min=1, max=500, step=5))
    only = {**_Perturbation.only, "n_background": (TABULAR,), "baselines": (IMAGE, TEXT, FUSION)}
    modalities = _Perturbation.with_generation

    def run(self, ctx: Ctx) -> Attribution:
        if ctx.modality == TABULAR:
            return self.run_tabular(ctx)
        from captum.attr import KernelShap

        if ctx.modality == GENERATION:
            return gen.perturb(ctx, KernelShap)
        extras: dict = {}
        mask, _n = self.with_mask(ctx, extras)
        base = ctx.baseline()
        n = ctx.p["n_samples"]
        algo = KernelShap(ctx.forward(n + 1))

        def go(batch: int) -> torch.Tensor:
            return algo.attribute(ctx.inp, baselines=base, target=ctx.target, feature_mask=mask,
                                  n_samples=n, perturbations_per_eval=batch)

        attr = ctx.retry(go, n, grad=False)
        base_value = float(ctx.logit(base if isinstance(base, tuple) else (base,))[0])
        return self.done(ctx, attr, extras, base_value=base_value)

    def run_tabular(self, ctx: Ctx) -> Attribution:
        """shap.KernelExplainer (12x faster than Captum's on tabular; same values)."""
        import shap

        bg = bl.background(ctx.model, ctx.p["n_background"], ctx.seed, ctx.x[0])
        n = ctx.p["n_samples"]
        f = logit_fn(ctx, total=n * len(bg) + len(bg) + 1, rows=n * len(bg))
        explainer = shap.KernelExplainer(f, bg.detach().cpu().numpy())
        x = ctx.x[0].detach().cpu().numpy()
        phi = explainer.shap_values(x, nsamples=n, silent=True, l1_reg=False)
        return ctx.finish(np.asarray(phi).reshape(-1),
                          base_value=float(np.asarray(explainer.expected_value).reshape(-1)[0]))


def logit_fn(ctx: Ctx, total: int, rows: int):
    """numpy rows -> target logits (numpy), batched by free memory, counted for progress."""
    x0 = ctx.x[0]
    batch = ctx.batch(rows, grad=False)
    ctx.used["batch_size"] = batch
    ctx.counter = None
    fwd = ctx.forward(total)
    run = chunked(lambda *t: fwd(*t)[:, ctx.target], batch)

    @torch.no_grad()
    def f(z: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(z), dtype=x0.dtype, device=x0.device)
        return run(t.reshape(-1, *x0.shape[1:])).float().cpu().numpy()

    return f


"""Shapley value sampling (Captum ShapleyValueSampling) over regions, tokens or features."""
from __future__ import annotations

import torch

from explainers import generation as gen
from explainers.base import Attribution, Param, register
from explainers.methods._common import BASELINES, GENERATION, MERGE, Ctx
from explainers.methods.perturbation import FEATURE_MASK, N_SEGMENTS, _Perturbation


@register
class ShapleyValueSamplingMethod(_Perturbation):
    name = "shapley_value_sampling"
    label = "Shapley value sampling"
    stochastic = True
    modalities = _Perturbation.with_generation
    needs = "forward passes only"
    help = ("Shapley values estimated from random feature orderings (Captum "
            "ShapleyValueSampling): each region/token/feature is added in turn to a baseline.")
    params = (Param("n_samples", "int", 25, "Random feature orderings (permutations) sampled.",
                    min=1, max=1000, step=5), FEATURE_MASK, N_SEGMENTS, BASELINES, MERGE)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import ShapleyValueSampling

        if ctx.modality == GENERATION:  # per continuation token too, as LLMAttribution
            return gen.perturb(ctx, ShapleyValueSampling)
        extras: dict = {}
        mask, n = self.with_mask(ctx, extras)
        base = ctx.baseline()
        algo = ShapleyValueSampling(ctx.forward(ctx.p["n_samples"] * n + 1))

        def go(batch: int) -> torch.Tensor:
            return algo.attribute(ctx.inp, baselines=base, target=ctx.target, feature_mask=mask,
                                  n_samples=ctx.p["n_samples"], perturbations_per_eval=batch)

        return self.done(ctx, ctx.retry(go, n, grad=False), extras)

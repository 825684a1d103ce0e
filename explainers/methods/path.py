"""Methods with a completeness delta: integrated gradients, DeepLift, GradientSHAP, DeepLiftSHAP."""
from __future__ import annotations

import functools

import numpy as np
import torch

from explainers import baselines as bl
from explainers import generation as gen
from explainers.base import Attribution, Param, register
from explainers.methods import _adaptive as adaptive
from explainers.methods._common import (
    BASELINES,
    FUSION,
    GENERATION,
    IMAGE,
    MERGE,
    N_STEPS,
    TABULAR,
    TEXT,
    TOLERANCE,
    Ctx,
    Method,
)

IG_RULES = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right",
            "riemann_middle")
N_BASELINES = Param("n_baselines", "int", 20, "Training samples used as baselines (background).",
                    min=1, max=500, step=5)


def cache_integration_nodes() -> None:
    """Captum recomputes Gauss-Legendre nodes (numpy eigvalsh) on every call; cache them per
    n_steps. Values are identical: the same numpy call, run once per n."""
    from captum.attr._utils import approximation_methods as am

    if getattr(am.gauss_legendre_builders, "_glassbox_cached", False):
        return
    original = am.gauss_legendre_builders
    step_sizes, alphas = original()
    cached_steps = functools.lru_cache(maxsize=64)(lambda n: tuple(step_sizes(n)))
    cached_alphas = functools.lru_cache(maxsize=64)(lambda n: tuple(alphas(n)))

    def builders():
        return (lambda n: list(cached_steps(n))), (lambda n: list(cached_alphas(n)))

    builders._glassbox_cached = True  # type: ignore[attr-defined]
    am.gauss_legendre_builders = builders


cache_integration_nodes()


def completeness(ctx: Ctx, attr, base_value: float) -> float:
    """|sum(attributions) - (f(x) - base_value)| in logit space."""
    total = float(np.sum([a.detach().double().sum().item() for a in
                          (attr if isinstance(attr, tuple) else (attr,))]))
    return abs(total - (float(ctx.logit()[0]) - base_value))


@register
class IntegratedGradientsMethod(Method):
    name = "integrated_gradients"
    label = "Integrated gradients"
    modalities = frozenset({IMAGE, TEXT, TABULAR, FUSION, GENERATION})
    gradients = batchable = True
    needs = "gradients, a baseline; text: embedding_layer (LayerIntegratedGradients)"
    help = "Path integral of gradients from a baseline (Captum IntegratedGradients)."
    params = (N_STEPS, TOLERANCE, Param("integration_method", "choice", "gausslegendre",
                                        "Captum's `method` argument: the integration rule.",
                                        choices=IG_RULES), BASELINES, MERGE)
    free_params = ("custom_baseline", "on_stage")  # on_stage(Attribution): each adaptive pass

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import IntegratedGradients, LayerIntegratedGradients

        if ctx.modality == GENERATION:  # on the input embeddings, per continuation token
            return gen.integrated_gradients(ctx)
        n, rule = ctx.p["n_steps"], ctx.p["integration_method"]
        base = ctx.baseline()
        plan = adaptive.schedule(n) if ctx.p["tolerance"] > 0 else [n]
        fwd = ctx.forward(sum(plan) + 2)
        if ctx.modality == TEXT:
            algo = LayerIntegratedGradients(fwd, ctx.model.embedding_layer)
        else:
            algo = IntegratedGradients(fwd)

        def attribute(steps: int):
            return ctx.retry(lambda batch: algo.attribute(
                ctx.inp, baselines=base, target=ctx.target, n_steps=steps, method=rule,
                internal_batch_size=batch), steps)

        if len(plan) == 1 and ctx.p["tolerance"] <= 0:
            attr = attribute(n)
            return ctx.finish(attr, delta=ctx.delta(attr, base))
        return adaptive.run(ctx, plan, attribute, base)


@register
class DeepLiftMethod(Method):
    one_pass = True
    name = "deeplift"
    label = "DeepLift"
    modalities = frozenset({IMAGE, TEXT, TABULAR})
    gradients = batchable = True
    needs = "nn.Module nonlinearities (nn.ReLU...); text: embedding_layer (LayerDeepLift)"
    help = "Rescale rule against a baseline (Captum DeepLift); exact completeness on ReLU nets."
    params = (BASELINES, MERGE)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import DeepLift, LayerDeepLift

        base = ctx.baseline()
        module = ctx.module(2)
        if ctx.modality == TEXT:
            algo = LayerDeepLift(module, ctx.model.embedding_layer)
        else:
            algo = DeepLift(module)
        attr = algo.attribute(ctx.inp, baselines=base, target=ctx.target)
        return ctx.finish(attr, delta=ctx.delta(attr, base))


class _BackgroundMethod(Method):
    """GradientSHAP / DeepLiftSHAP: training samples as baselines, base_value = E[f(background)]."""

    modalities = frozenset({IMAGE, TABULAR})
    gradients = True

    def background(self, ctx: Ctx) -> tuple[torch.Tensor | tuple[torch.Tensor, ...], float]:
        """Training samples as baselines and E[f(background)]; fusion models pair each image
        with the all-[PAD] text (token embeddings)."""
        bg = bl.background(ctx.model, ctx.p["n_baselines"], ctx.seed, ctx.x[0])
        if ctx.modality == FUSION:
            pad = ctx.fusion_baseline("black")[1]
            bg = (bg.to(ctx.x[0]), pad[:1].expand(len(bg), *pad.shape[1:]))
        return bg, float(ctx.logit(bg if isinstance(bg, tuple) else (bg,)).mean())

    def averaged(self, ctx: Ctx, n: int, one) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Average of one(k, start) over chunks of k (memory-picked); weights by chunk size."""

        def go(batch: int) -> torch.Tensor | tuple[torch.Tensor, ...]:
            total = None
            for start in range(0, n, batch):
                k = min(batch, n - start)
                out = one(k, start)
                part = tuple(t.detach() * k for t in (out if isinstance(out, tuple) else (out,)))
                total = part if total is None else tuple(a + b for a, b in zip(total, part,
                                                                                strict=True))
            total = tuple(t / n for t in total)
            return total[0] if len(total) == 1 else total

        return ctx.retry(go, n)


@register
class GradientShapMethod(_BackgroundMethod):
    name = "gradient_shap"
    label = "GradientSHAP"
    modalities = frozenset({IMAGE, TABULAR, FUSION})
    stochastic = True
    needs = "gradients, background(n) training samples (HasBaselines)"
    help = "Expected gradients over random points between training samples and the input."
    params = (Param("n_samples", "int", 20, "Random samples (baseline, alpha) drawn.",
                    min=1, max=1000, step=5),
              Param("stdevs", "float", 0.0, "Std of Gaussian noise added to the input.",
                    min=0.0, max=10.0, step=0.05), N_BASELINES)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import GradientShap

        bg, base_value = self.background(ctx)
        algo = GradientShap(ctx.forward(ctx.p["n_samples"]))

        def one(k: int, _start: int) -> torch.Tensor:
            return algo.attribute(ctx.inp, baselines=bg, n_samples=k, stdevs=ctx.p["stdevs"],
                                  target=ctx.target)

        attr = self.averaged(ctx, ctx.p["n_samples"], one)
        return ctx.finish(attr, delta=completeness(ctx, attr, base_value), base_value=base_value)


@register
class DeepLiftShapMethod(_BackgroundMethod):
    name = "deeplift_shap"
    label = "DeepLiftSHAP"
    needs = "nn.Module nonlinearities, background(n) training samples (HasBaselines)"
    help = "DeepLift averaged over training samples as baselines (Captum DeepLiftShap)."
    params = (N_BASELINES,)

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import DeepLiftShap

        bg, base_value = self.background(ctx)
        algo = DeepLiftShap(ctx.module(2 * len(bg)))

        def one(k: int, start: int) -> torch.Tensor:
            chunk = bg[start: start + k]
            if len(chunk) == 1:  # Captum DeepLiftShap needs at least two baselines
                chunk = chunk.repeat(2, *([1] * (chunk.ndim - 1)))
            return algo.attribute(ctx.inp, baselines=chunk, target=ctx.target)

        attr = self.averaged(ctx, len(bg), one)
        return ctx.finish(attr, delta=completeness(ctx, attr, base_value), base_value=base_value)

"""Plain-gradient methods: saliency, input x gradient, SmoothGrad (NoiseTunnel), guided backprop."""
from __future__ import annotations

from typing import ClassVar

from explainers import generation as gen
from explainers.base import Attribution, Param, register
from explainers.methods._common import (
    FUSION,
    GENERATION,
    IMAGE,
    MERGE,
    TABULAR,
    TEXT,
    Ctx,
    Method,
)

WITH_GENERATION = frozenset({IMAGE, TEXT, TABULAR, FUSION, GENERATION})


@register
class SaliencyMethod(Method):
    one_pass = True
    name = "saliency"
    label = "Saliency (gradient)"
    modalities = WITH_GENERATION
    gradients = batchable = True
    needs = "gradients; text: embedding_layer"
    help = "Gradient of the target logit w.r.t. the input (Captum Saliency; text: on embeddings)."
    params = (Param("abs", "bool", True, "Absolute value of the gradient."), MERGE)

    def run(self, ctx: Ctx) -> Attribution:
        if ctx.modality == GENERATION:
            return gen.gradient(ctx, times_input=False)
        if ctx.modality == TEXT:
            from captum.attr import LayerGradientXActivation

            algo = LayerGradientXActivation(ctx.forward(1), ctx.model.embedding_layer,
                                            multiply_by_inputs=False)
            attr = algo.attribute(ctx.inp, target=ctx.target)
            return ctx.finish(attr.abs() if ctx.p["abs"] else attr)
        from captum.attr import Saliency

        attr = Saliency(ctx.forward(1)).attribute(ctx.inp, target=ctx.target, abs=ctx.p["abs"])
        return ctx.finish(attr)


@register
class InputXGradientMethod(Method):
    one_pass = True
    name = "input_x_gradient"
    label = "Input x gradient"
    modalities = WITH_GENERATION
    gradients = batchable = True
    needs = "gradients; text: embedding_layer"
    help = "Input times its gradient (Captum InputXGradient; text: embeddings x their gradient)."
    params = (MERGE,)

    def run(self, ctx: Ctx) -> Attribution:
        if ctx.modality == GENERATION:
            return gen.gradient(ctx, times_input=True)
        if ctx.modality == TEXT:
            from captum.attr import LayerGradientXActivation

            algo = LayerGradientXActivation(ctx.forward(1), ctx.model.embedding_layer)
            return ctx.finish(algo.attribute(ctx.inp, target=ctx.target))
        from captum.attr import InputXGradient

        return ctx.finish(InputXGradient(ctx.forward(1)).attribute(ctx.inp, target=ctx.target))


@register
class SmoothGradMethod(Method):
    name = "smoothgrad"
    label = "SmoothGrad (NoiseTunnel)"
    modalities = frozenset({IMAGE, TABULAR, FUSION})
    gradients = True
    needs = "gradients (noise is added to the input, so not to token ids)"
    stochastic = True
    help = "Captum NoiseTunnel: averages saliency or IG over noisy copies of the input."
    params = (
        Param("base", "choice", "saliency", "Method averaged over the noisy copies.",
              choices=("saliency", "integrated_gradients")),
        Param("nt_type", "choice", "smoothgrad", "How the noisy attributions are combined.",
              choices=("smoothgrad", "smoothgrad_sq", "vargrad")),
        Param("nt_samples", "int", 25, "Number of noisy copies.", min=2, max=500, step=5),
        Param("stdevs", "float", 0.15, "Noise std as a fraction of the input's value range "
              "(max - min); the absolute std used is recorded as noise_std.", min=0.0, max=2.0,
              step=0.05),
        Param("n_steps", "int", 20, "IG steps when base = integrated_gradients.", min=2,
              max=500, step=5),
    )

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

        p = ctx.p
        # one std per input (fusion: the image and the token embeddings each get their own)
        stds = tuple(float(p["stdevs"] * (x.max() - x.min()).clamp_min(1e-12)) for x in ctx.x)
        std = stds[0] if len(stds) == 1 else stds
        ctx.used["noise_std"] = std
        ig = p["base"] == "integrated_gradients"
        per_sample = p["n_steps"] if ig else 1
        fwd = ctx.forward(p["nt_samples"] * per_sample + (2 * p["nt_samples"] if ig else 0))
        base = IntegratedGradients(fwd) if ig else Saliency(fwd)

        def go(batch: int):
            extra = {"n_steps": p["n_steps"], "internal_batch_size": batch} if ig else {}
            return NoiseTunnel(base).attribute(
                ctx.inp, nt_type=p["nt_type"], nt_samples=p["nt_samples"], stdevs=std,
                nt_samples_batch_size=p["nt_samples"] if ig else batch, target=ctx.target,
                **extra)

        return ctx.finish(ctx.retry(go, p["nt_samples"] * per_sample))


@register
class GuidedBackpropMethod(Method):
    one_pass = True
    name = "guided_backprop"
    label = "Guided backprop"
    modalities = frozenset({IMAGE})
    gradients = True
    needs = "ReLU modules (nn.ReLU) in the network"
    help = "Gradients with negative signals cut at every nn.ReLU (Captum GuidedBackprop)."
    params: ClassVar = ()

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import GuidedBackprop

        algo = GuidedBackprop(ctx.module(1))
        return ctx.finish(algo.attribute(ctx.inp, target=ctx.target))


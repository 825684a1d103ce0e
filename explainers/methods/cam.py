"""Class activation maps: Grad-CAM and guided Grad-CAM on a user-selectable conv layer."""
from __future__ import annotations

from dataclasses import replace

import torch

from explainers.base import Attribution, Param, register
from explainers.methods._common import IMAGE, Ctx, Method
from models.base import HasTargetLayer, ModelAdapter
from models.errors import UnknownNameError

LAYER = Param("layer", "str", "", "Conv layer to explain ('' = the model's default layer).")


def layer_of(ctx: Ctx) -> torch.nn.Module:
    """The chosen conv layer; an unknown name is an error naming the allowed ones."""
    layers = ctx.model.conv_layers()
    name = ctx.p["layer"] or ctx.model.default_target_layer
    if name not in layers:
        raise UnknownNameError(f"unknown layer {name!r}; allowed: {list(layers)}")
    ctx.used["layer"] = name
    return layers[name]


class _CamMethod(Method):
    one_pass = True
    modalities = frozenset({IMAGE})
    params = (LAYER,)
    gradients = True

    def missing(self, model: ModelAdapter) -> str:
        if not isinstance(model, HasTargetLayer):
            return super().missing(model) or (f"{self.name} needs conv layers (HasTargetLayer: conv_layers, "
                    "default_target_layer)")
        return super().missing(model)

    def params_for(self, model: ModelAdapter) -> tuple[Param, ...]:
        if not isinstance(model, HasTargetLayer):
            return self.params
        names = tuple(model.conv_layers())
        return (replace(LAYER, kind="choice", default=model.default_target_layer, choices=names),
                *self.params[1:])


@register
class GradCamMethod(_CamMethod):
    name = "grad_cam"
    label = "Grad-CAM"
    batchable = True
    needs = "a conv layer (HasTargetLayer)"
    help = ("Captum LayerGradCam: channel-weighted activations of a conv layer, ReLU'd, "
            "upsampled bilinearly to the input size.")
    params = (LAYER, Param("relu_attributions", "bool", True, "Keep only positive evidence."))

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import LayerAttribution, LayerGradCam

        layer = layer_of(ctx)
        algo = LayerGradCam(ctx.forward(1), layer)
        cam = algo.attribute(ctx.inp, target=ctx.target,
                             relu_attributions=ctx.p["relu_attributions"])
        small = cam.detach()[:, 0].float().cpu().numpy()
        up = LayerAttribution.interpolate(cam, tuple(ctx.x[0].shape[-2:]), "bilinear")
        return ctx.finish(up, row_extras={"cam": small})


@register
class GuidedGradCamMethod(_CamMethod):
    name = "guided_grad_cam"
    label = "Guided Grad-CAM"
    needs = "a conv layer (HasTargetLayer) and nn.ReLU modules"
    help = "Guided backprop times the upsampled Grad-CAM map (Captum GuidedGradCam)."

    def run(self, ctx: Ctx) -> Attribution:
        from captum.attr import GuidedGradCam

        layer = layer_of(ctx)
        algo = GuidedGradCam(ctx.module(2), layer)
        return ctx.finish(algo.attribute(ctx.inp, target=ctx.target))

"""Layer-wise relevance propagation (Captum LRP) with a propagation rule per layer type."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn

from explainers.base import Attribution, Param, register
from explainers.methods._common import IMAGE, TABULAR, Ctx, Method
from models.base import ModelAdapter

RULES = ("epsilon", "gamma", "alpha1_beta0")
PASS_THROUGH = (nn.Flatten, nn.Identity, nn.Unflatten)  # reshapes: relevance passes unchanged


def _captum_layers() -> tuple[dict, tuple]:
    from captum.attr._core.lrp import SUPPORTED_LAYERS_WITH_RULES, SUPPORTED_NON_LINEAR_LAYERS

    return SUPPORTED_LAYERS_WITH_RULES, tuple(SUPPORTED_NON_LINEAR_LAYERS)


def leaves(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if not list(m.children())]


def layers_without_rule(module: nn.Module) -> list[str]:
    """Leaf layer types LRP has no rule for (Captum's defaults plus the pass-through reshapes)."""
    with_rules, non_linear = _captum_layers()
    known = (*with_rules, *non_linear, *PASS_THROUGH)
    return sorted({type(m).__name__ for m in leaves(module) if not isinstance(m, known)})


def is_compiled(module: nn.Module) -> bool:
    """TorchScript or torch.export programs: their layers are not nn.Modules LRP can hook."""
    import torch

    from models.user.wrappers import FixedMode

    return any(isinstance(m, torch.jit.ScriptModule | torch.fx.GraphModule | FixedMode)
               for m in module.modules())


@contextlib.contextmanager
def rules_attached(module: nn.Module, rule: str, epsilon: float) -> Iterator[None]:
    """Give every ruled layer a fresh rule for one call, and take Captum's attributes off again
    (the model is shared and must be left as it was found)."""
    from captum.attr._utils import lrp_rules as lr

    with_rules, non_linear = _captum_layers()
    make = {"epsilon": lambda: lr.EpsilonRule(epsilon), "gamma": lr.GammaRule,
            "alpha1_beta0": lr.Alpha1_Beta0_Rule}[rule]
    for m in leaves(module):
        if type(m) in with_rules and not isinstance(m, non_linear):
            pooling = "Pool" in type(m).__name__ or "Addition" in type(m).__name__
            m.rule = with_rules[type(m)]() if pooling else make()
    try:
        yield
    finally:
        for m in leaves(module):
            for attr in ("rule", "activations"):
                if attr in m.__dict__:
                    delattr(m, attr)


def lrp_class() -> type:
    """Captum's LRP that leaves reshape layers (Flatten, Identity) to plain autograd: they move
    relevance without changing it, and a rule hook there would change the tensor's shape."""
    from captum.attr import LRP

    class ReshapeAwareLRP(LRP):
        def _get_layers(self, model: nn.Module) -> None:
            super()._get_layers(model)
            self.layers = [m for m in self.layers if not isinstance(m, PASS_THROUGH)]

    return ReshapeAwareLRP


@register
class LrpMethod(Method):
    one_pass = True
    name = "lrp"
    label = "LRP (layer-wise relevance)"
    modalities = frozenset({IMAGE, TABULAR})
    gradients = True
    needs = "nn.Module layers that have an LRP rule (Conv2d, Linear, pools, BatchNorm2d, ReLU...)"
    help = ("Captum LRP: the target logit is redistributed backwards layer by layer; Conv2d and "
            "Linear use the chosen rule, pools and BatchNorm Captum's defaults, ReLU/Dropout "
            "pass relevance through, Flatten/Identity keep it unchanged.")
    params = (Param("rule", "choice", "epsilon", "Rule for Conv2d/Linear layers: epsilon (LRP-e), "
                    "gamma (favours positive weights), alpha1_beta0 (positive relevance only).",
                    choices=RULES),
              Param("epsilon", "float", 1e-9, "The epsilon of the epsilon rule (a stabiliser).",
                    min=0.0, max=10.0, step=0.01))

    def missing(self, model: ModelAdapter) -> str:
        if is_compiled(model.module):
            return (f"{self.name} needs the model's layers as nn.Modules; "
                    f"{model.info.name} is compiled (TorchScript / torch.export)")
        absent = layers_without_rule(model.module)
        if absent:
            return f"{self.name} has no propagation rule for layer type(s): {', '.join(absent)}"
        return super().missing(model)

    def run(self, ctx: Ctx) -> Attribution:
        module = ctx.module(1)
        with rules_attached(ctx.model.module, ctx.p["rule"], ctx.p["epsilon"]):
            attr, delta = lrp_class()(module).attribute(ctx.inp, target=ctx.target,
                                                return_convergence_delta=True)
        layers = ", ".join(sorted({type(m).__name__ for m in leaves(ctx.model.module)}))
        return ctx.finish(attr, extras={"lrp_delta": float(delta.detach().abs().max()),
                                        "layers": layers})

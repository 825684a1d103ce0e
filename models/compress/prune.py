"""Magnitude pruning (torch.nn.utils.prune) on a deep copy of a model's module, and sweeps."""
from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.nn.utils import prune

from models.base import ModelAdapter
from models.compress.wrap import wrap_compressed
from models.errors import InputError, UnsupportedError

KINDS = ("unstructured", "structured")
SCOPES = ("global", "layer")
UNSTRUCTURED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Embedding, nn.EmbeddingBag)
STRUCTURED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def check_amount(amount: float) -> float:
    """A pruning amount is a fraction in [0, 1]."""
    try:
        value = float(amount)
    except (TypeError, ValueError) as exc:
        raise InputError(f"pruning amount must be a number in [0, 1], got {amount!r}") from exc
    if not 0.0 <= value <= 1.0:
        raise InputError(f"pruning amount {value!r} is outside [0, 1] (0.5 = prune half)")
    return value


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")


def prunable_layers(module: nn.Module, kind: str = "unstructured") -> list[tuple[str, nn.Module]]:
    """(name, layer) for every layer whose `weight` the given kind of pruning touches.

    Structured pruning removes output channels/rows, so it leaves the last Linear layer (the
    classifier: removing its rows would delete classes) alone.
    """
    _check_choice(kind, KINDS, "pruning kind")
    types = UNSTRUCTURED_LAYERS if kind == "unstructured" else STRUCTURED_LAYERS
    layers = [(n, m) for n, m in module.named_modules()
              if isinstance(m, types) and isinstance(getattr(m, "weight", None), torch.Tensor)]
    if kind == "structured":
        linears = [i for i, (_, m) in enumerate(layers) if isinstance(m, nn.Linear)]
        if linears:
            layers.pop(linears[-1])
    return layers


def prune_module(module: nn.Module, amount: float, kind: str = "unstructured",
                 scope: str = "global") -> nn.Module:
    """A pruned deep copy of `module` (masks made permanent); `module` itself is untouched.

    unstructured: L1 magnitude, over all layers at once (scope "global") or each layer alone;
    structured: L2 norm of whole output channels (conv) / rows (linear), per layer.
    """
    amount = check_amount(amount)
    _check_choice(kind, KINDS, "pruning kind")
    _check_choice(scope, SCOPES, "pruning scope")
    if kind == "structured" and scope == "global":
        raise InputError("structured pruning is per layer: use scope 'layer' with kind "
                         "'structured' (global works with 'unstructured')")
    pruned = copy.deepcopy(module)
    layers = prunable_layers(pruned, kind)
    if not layers:
        raise UnsupportedError(f"nothing to prune: the module has no {kind} prunable layers "
                               f"({', '.join(t.__name__ for t in UNSTRUCTURED_LAYERS)})")
    if kind == "unstructured" and scope == "global":
        prune.global_unstructured([(m, "weight") for _, m in layers],
                                  pruning_method=prune.L1Unstructured, amount=amount)
    for _, m in layers:
        if kind == "unstructured" and scope == "layer":
            prune.l1_unstructured(m, "weight", amount=amount)
        elif kind == "structured":
            prune.ln_structured(m, "weight", amount=amount, n=2, dim=0)
        prune.remove(m, "weight")
    return pruned


def sparsity(module: nn.Module, kind: str = "unstructured") -> dict[str, float]:
    """Fraction of zero weights: {"overall": ..., "<layer name>": ...} over prunable layers."""
    out: dict[str, float] = {}
    zeros = total = 0
    for name, m in prunable_layers(module, kind):
        w = m.weight.detach()
        z = int((w == 0).sum())
        out[name or "<root>"] = z / w.numel()
        zeros, total = zeros + z, total + w.numel()
    out["overall"] = zeros / total if total else 0.0
    return out


def channel_sparsity(module: nn.Module) -> dict[str, float]:
    """Fraction of whole output channels/rows that are all zero, per structured-prunable layer."""
    out: dict[str, float] = {}
    for name, m in prunable_layers(module, "structured"):
        w = m.weight.detach().flatten(1)
        out[name or "<root>"] = float((w.abs().sum(1) == 0).float().mean())
    return out


def prune_label(amount: float, kind: str, scope: str) -> str:
    """e.g. 'pruned 50% L1' or 'pruned 30% channels'."""
    what = "L1" if kind == "unstructured" else "channels"
    where = " per layer" if scope == "layer" and kind == "unstructured" else ""
    return f"pruned {amount:.0%} {what}{where}"


def prune_adapter(model: ModelAdapter, amount: float, kind: str = "unstructured",
                  scope: str = "global") -> ModelAdapter:
    """The model, pruned, as a new adapter of the same kind (the original is unchanged)."""
    amount = check_amount(amount)
    if kind == "structured":
        scope = "layer"
    module = prune_module(model.module, amount, kind, scope)
    details = {"op": "prune", "amount": amount, "kind": kind, "scope": scope,
               "sparsity": sparsity(module)["overall"]}
    return wrap_compressed(model, module, prune_label(amount, kind, scope), details=details)


def prune_sweep(model: ModelAdapter, amounts: Sequence[float], kind: str = "unstructured",
                scope: str = "global") -> Iterator[tuple[float, ModelAdapter]]:
    """(amount, pruned adapter) for each amount, built one at a time."""
    checked = [check_amount(a) for a in amounts]
    if not checked:
        raise InputError("give at least one pruning amount, e.g. 0, 0.3, 0.5")
    for amount in checked:
        yield amount, prune_adapter(model, amount, kind, scope)

"""Model-parameter randomisation test (Adebayo et al. 2018), cascading from the top layer."""
from __future__ import annotations

import copy
import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution, Explainer, Progress, resolve_target
from explainers.metrics._common import finite, flat, is_stochastic, run_method, spearman, tick
from models.base import ModelAdapter
from models.errors import InputError


@dataclass(frozen=True)
class Sanity:
    """Rank correlation of the map on the trained model vs. models randomised from the top down.

    `steps[i]` is the lowest layer randomised at step i (all layers above it are random too).
    `correlations` compare the maps as chosen (signed, or |maps| with absolute=True) and
    `other_correlations` the other variant, from the same randomised maps: Adebayo et al.
    (2018) show that |IG| and |input x gradient| keep their structure on a random model (the
    input dominates them) while the signed maps do not. `passed` is False (the method is
    flagged) when either variant still correlates above `threshold` after every layer has been
    randomised; `failed` names which.
    """

    method: str
    steps: tuple[str, ...]
    correlations: tuple[float, ...]
    passed: bool
    threshold: float
    settings: dict[str, Any] = field(default_factory=dict)
    other_correlations: tuple[float, ...] = ()

    @property
    def final(self) -> float:
        return self.correlations[-1]

    @property
    def variants(self) -> dict[str, tuple[float, ...]]:
        """'signed' and 'absolute' -> correlations per step (those computed)."""
        mine, other = ("absolute", "signed") if self.settings.get("absolute") else \
            ("signed", "absolute")
        out = {mine: self.correlations}
        if self.other_correlations:
            out[other] = self.other_correlations
        return out

    @property
    def failed(self) -> tuple[str, ...]:
        """The variants whose final correlation is at or above the threshold."""
        return tuple(v for v, c in self.variants.items() if not c[-1] < self.threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "steps": list(self.steps),
            "correlations": [finite(c) for c in self.correlations],
            "other_correlations": [finite(c) for c in self.other_correlations],
            "failed": list(self.failed),
            "passed": self.passed, "threshold": self.threshold, "settings": dict(self.settings),
        }


def layers_top_down(module: torch.nn.Module) -> list[str]:
    """Names of modules that own parameters, last registered (nearest the output) first."""
    names = [n for n, m in module.named_modules() if any(True for _ in m.parameters(recurse=False))]
    return names[::-1]


def layer_blocks(names: list[str], max_steps: int) -> list[list[str]]:
    parts = np.array_split(np.arange(len(names)), min(max_steps, len(names)))
    return [[names[i] for i in p] for p in parts if len(p)]


def private_copy(model: ModelAdapter, tag: str) -> ModelAdapter:
    """A deep copy of the adapter (own module, own lock, renamed info); the original is untouched."""
    with model.lock:
        memo = {id(model.lock): threading.RLock()}
        try:
            twin = copy.deepcopy(model, memo)
        except (TypeError, copy.Error, RuntimeError, AttributeError):
            twin = _module_copy(model)  # e.g. a tokenizer that cannot be copied: share it
    if "info" in vars(twin):
        twin.info = dataclasses.replace(model.info, name=f"{model.info.name}~{tag}")
    return twin


def _module_copy(model: ModelAdapter) -> ModelAdapter:
    """Shallow adapter copy with a deep-copied module; attributes pointing into it are rebound."""
    twin = copy.copy(model)
    twin.module = copy.deepcopy(model.module)
    twin.lock = threading.RLock()
    new_by_name = dict(twin.module.named_modules())
    old_to_name = {id(m): n for n, m in model.module.named_modules()}
    for key, value in list(vars(model).items()):
        if isinstance(value, torch.nn.Module) and id(value) in old_to_name and key != "module":
            setattr(twin, key, new_by_name[old_to_name[id(value)]])
    return twin


@torch.no_grad()
def randomise(module: torch.nn.Module, names: list[str], seed: int) -> None:
    """Re-draw each named layer's parameters from N(mean, std) of its trained values, seeded."""
    mods = dict(module.named_modules())
    for name in names:
        gen = torch.Generator().manual_seed(int(seed) * 100003 + hash_name(name))
        for p in mods[name].parameters(recurse=False):
            data = p.detach().float().cpu()
            std = float(data.std()) if data.numel() > 1 else 0.0
            std = std if std > 0 else 0.02
            fresh = torch.randn(p.shape, generator=gen) * std + float(data.mean())
            p.copy_(fresh.to(p.device, p.dtype))


def hash_name(name: str) -> int:
    """A stable (process-independent) small hash of a layer name."""
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % 1_000_003


def sanity_check(
    model: ModelAdapter,
    raw: Any,
    method: str | Explainer,
    params: dict[str, Any] | None = None,
    seed: int = 0,
    *,
    target: int | str | None = None,
    reference: Attribution | None = None,
    max_steps: int = 6,
    threshold: float = 0.5,
    absolute: bool = False,
    part: str | None = None,
    progress: Progress | None = None,
) -> Sanity:
    """Cascading randomisation on private copies of the model; Spearman per step vs. the original.

    Layers owning parameters are randomised from the output down, grouped into at most
    `max_steps` steps. `absolute` makes |maps| (Adebayo's "absolute" variant) the reported
    curve and the signed maps the other one; both decide `passed`. `part` compares one part of
    a fusion map ("image" or "text") instead of both. The shared model is never modified.
    """
    if not 1 <= int(max_steps) <= 100:
        raise InputError(f"max_steps must be in 1..100, got {max_steps!r}")
    idx = resolve_target(model, raw, target)
    params = {**(params or {}), "seed": seed} if is_stochastic(method) else dict(params or {})
    if reference is None or is_stochastic(method):
        reference = run_method(model, raw, method, idx, params)
    groups = layer_blocks(layers_top_down(model.module), int(max_steps))
    if not groups:
        raise InputError(f"model {model.info.name!r} has no parameters to randomise")
    steps, rhos, others, done = [], [], [], []
    for k, block in enumerate(groups):
        done += block
        twin = private_copy(model, f"random{k}")
        randomise(twin.module, done, seed)
        att = run_method(twin, raw, method, idx, params)
        mine, theirs = _part(reference.values, part), _part(att.values, part)
        rhos.append(_compare(mine, theirs, absolute))
        others.append(_compare(mine, theirs, not absolute))
        steps.append(block[-1])
        tick(progress, k + 1, len(groups))
    passed = bool(rhos[-1] < threshold and others[-1] < threshold)
    settings = {
        "seed": seed, "max_steps": int(max_steps), "absolute": absolute, "target": idx,
        "layers": len(done), "init": "normal(mean, std) of the trained layer",
    }
    if part is not None:
        settings["part"] = part
    name = method if isinstance(method, str) else method.name
    return Sanity(name, tuple(steps), tuple(rhos), passed, float(threshold), settings,
                  tuple(others))


def _part(values: Any, part: str | None) -> Any:
    if part is None:
        return values
    if not isinstance(values, dict) or part not in values:
        have = sorted(values) if isinstance(values, dict) else []
        raise InputError(f"part {part!r} is not one of this map's parts {have}")
    return values[part]


def _compare(a: Any, b: Any, absolute: bool) -> float:
    if absolute:
        return spearman(np.abs(flat(a)), np.abs(flat(b)))
    return spearman(a, b)

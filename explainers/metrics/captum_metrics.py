"""Infidelity and max-sensitivity via captum.metrics, with their perturbation settings recorded."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution, Explainer, Progress, resolve_target
from explainers.generation.trust import metric_target, unit_groups
from explainers.metrics._common import (
    batch_size,
    check_output,
    finite,
    flat,
    run_method,
    target_output,
    tick,
)
from explainers.metrics.units import make_units, merged
from models.base import HasBaselines, HasImage, ModelAdapter
from models.errors import InputError, UnsupportedError

PERTURBATIONS = ("gaussian", "removal")


@dataclass(frozen=True)
class Infidelity:
    """Captum infidelity: E[(I . a - (f(x) - f(x - I)))^2], a rescaled optimally when normalized.

    `relative` divides by E[(f(x) - f(x - I))^2], so 0 = the map predicts every output change and
    1 = it predicts none of it (with normalize=True it never exceeds 1). Lower is better.
    """

    value: float
    relative: float | None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"value": finite(self.value), "relative": finite(self.relative), "settings": dict(self.settings)}


@dataclass(frozen=True)
class Sensitivity:
    """Captum max-sensitivity: the largest relative change of the map within `radius`. Lower is better."""

    value: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"value": finite(self.value), "settings": dict(self.settings)}


def _perturb_func(kind: str, noise: float, seed: int):
    """Perturbations in unit space (presence 1 = unit kept): Gaussian jitter or random removal."""
    gen = torch.Generator().manual_seed(int(seed))

    def perturb(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if kind == "removal":
            pert = (torch.rand(inputs.shape, generator=gen) < noise).float()
        else:
            pert = torch.randn(inputs.shape, generator=gen) * noise
        pert = pert.to(inputs.device)
        return pert, inputs - pert

    return perturb


def _check(kind: str, noise: float | None, n_perturb: int, continuous: bool, output: str) -> float:
    """Validate the perturbation settings; the noise level actually used."""
    if kind not in PERTURBATIONS:
        raise InputError(f"perturbation {kind!r} is not one of {list(PERTURBATIONS)}")
    if kind == "gaussian" and not continuous:
        raise InputError("gaussian perturbation needs continuous inputs; use perturbation='removal' for tokens")
    noise = float(noise if noise is not None else (0.1 if kind == "gaussian" else 0.25))
    if not 0 < noise <= (1 if kind == "removal" else 10):
        raise InputError(f"noise {noise} is out of range for {kind!r} perturbation")
    if not 1 <= int(n_perturb) <= 10000:
        raise InputError(f"n_perturb must be in 1..10000, got {n_perturb!r}")
    check_output(output)
    return noise


def _memo_forward(model, units, target: int, output: str, progress: Progress | None, total: int):
    """Target outputs of presence rows, memoised by content: a second Captum pass with the same
    seed (for the spread) reuses the first pass's forwards instead of running the model again."""
    memo: dict[bytes, torch.Tensor] = {}
    seen = [0]

    def forward(u: torch.Tensor) -> torch.Tensor:
        key = u.detach().cpu().numpy().tobytes()
        if key not in memo:
            memo[key] = target_output(model, units.build(u), target, output)
            seen[0] += u.shape[0]
            tick(progress, min(seen[0], total), total)
        return memo[key]

    return forward


def infidelity(
    model: ModelAdapter,
    raw: Any,
    a: Attribution,
    n_perturb: int = 64,
    noise: float | None = None,
    seed: int = 0,
    *,
    perturbation: str | None = None,
    baseline: str | None = None,
    output: str = "logit",
    normalize: bool = True,
    progress: Progress | None = None,
) -> Infidelity:
    """Infidelity of `a` (captum.metrics.infidelity) over units of the input (pixels/tokens/features).

    Perturbations act on each unit's presence between the input (1) and the baseline (0):
    "removal" (default) replaces each unit by the baseline with probability `noise` (default
    0.25), the same removal the deletion curves use; "gaussian" jitters every unit's presence by
    N(0, noise) (default 0.1; continuous inputs only), a local test that favours gradients.
    """
    from captum.metrics import infidelity as captum_infidelity

    units = make_units(model, raw, baseline, words=merged(a), groups=unit_groups(a))
    kind = perturbation or "removal"
    continuous = all(units.x[p.index].is_floating_point() for p in units.parts)
    noise = _check(kind, noise, n_perturb, continuous, output)
    device = units.x[0].device
    attr = torch.as_tensor(units.scores(a), dtype=torch.float32, device=device)[None]
    forward = _memo_forward(model, units, metric_target(model, a), output, progress,
                            int(n_perturb) + 1)

    def run(attributions: torch.Tensor, norm: bool) -> float:
        with model.lock:
            return float(captum_infidelity(
                forward, _perturb_func(kind, noise, seed), torch.ones_like(attr), attributions,
                n_perturb_samples=int(n_perturb), normalize=norm,
                max_examples_per_batch=min(int(n_perturb), batch_size(units.x, device)),
            )[0])

    value = max(0.0, run(attr, normalize))  # >= 0 in exact arithmetic; Captum's expansion rounds
    spread = run(torch.zeros_like(attr), False)  # E[(f(x) - f(x - I))^2], same perturbations
    settings = {
        "perturbation": kind, "noise": noise, "n_perturb": int(n_perturb), "seed": seed,
        "baseline": units.baseline, "unit": units.unit, "output": output, "normalize": normalize,
    }
    return Infidelity(value, value / spread if spread > 0 else None, settings)


def _raw_space(model: ModelAdapter, raw: Any) -> tuple[torch.Tensor, Any, Any, float]:
    """(input as a float tensor [1, ...], tensor row -> raw, per-element scale, default radius)."""
    modality = model.info.modality
    if modality == "image":
        if not isinstance(model, HasImage):
            raise UnsupportedError(f"model {model.info.name!r} has no display_image to perturb")
        img = torch.as_tensor(np.asarray(model.display_image(raw), dtype=np.float32) / 255.0)[None]
        return img, lambda row: row.cpu().numpy(), 1.0, 0.02
    if modality == "tabular":
        x = model.preprocess(raw)
        x = (x[0] if isinstance(x, tuple) else x).detach().float().cpu()
        scale = torch.ones_like(x[0])
        if isinstance(model, HasBaselines):
            with model.lock, torch.no_grad():
                std = model.background(200, 0).float().cpu().std(0)
            scale = torch.where(std > 0, std, scale)
        return x, lambda row: row.cpu().numpy(), scale, 0.1
    raise UnsupportedError(
        f"max-sensitivity needs a continuous input; {modality} inputs have no small neighbourhood"
    )


def _uniform(scale: Any, seed: int, clamp: bool):
    """Captum perturb_func: uniform noise in +-r (times the per-element scale), seeded."""
    gen = torch.Generator().manual_seed(int(seed))

    def perturb(inputs: torch.Tensor, r: float) -> torch.Tensor:
        out = inputs + (torch.rand(inputs.shape, generator=gen) * 2 - 1) * r * scale
        return out.clamp(0, 1) if clamp else out

    return perturb


def _explainer_func(model, method, target: int, params: dict, to_raw, progress, total: int):
    """Captum explanation_func: re-explain each (perturbed) row as a raw input, flat maps."""
    done = [0]

    def explanation(inputs: torch.Tensor | tuple[torch.Tensor]) -> tuple[torch.Tensor]:
        rows = []
        for row in inputs[0] if isinstance(inputs, tuple) else inputs:
            with torch.enable_grad():
                att = run_method(model, to_raw(row), method, target, params)
            rows.append(torch.as_tensor(flat(att), dtype=torch.float64))
            done[0] += 1
            tick(progress, min(done[0], total), total)
        return (torch.stack(rows),)  # a tuple: captum iterates over the unperturbed result

    return explanation


def max_sensitivity(
    model: ModelAdapter,
    raw: Any,
    method: str | Explainer,
    params: dict[str, Any] | None = None,
    radius: float | None = None,
    n_samples: int = 10,
    seed: int = 0,
    *,
    target: int | str | None = None,
    progress: Progress | None = None,
) -> Sensitivity:
    """Max-sensitivity (captum.metrics.sensitivity_max) of a method around `raw`.

    Inputs are jittered uniformly within +-radius in raw space: pixel intensities in 0..1 (default
    0.02) or each feature's training standard deviation (default 0.1 of it); the target is fixed.
    """
    from captum.metrics import sensitivity_max

    if not 1 <= int(n_samples) <= 1000:
        raise InputError(f"n_samples must be in 1..1000, got {n_samples!r}")
    x, to_raw, scale, default_radius = _raw_space(model, raw)
    radius = float(default_radius if radius is None else radius)
    if not 0 < radius <= 1:
        raise InputError(f"radius must be in (0, 1], got {radius!r}")
    idx = resolve_target(model, raw, target)
    perturb = _uniform(scale, seed, clamp=model.info.modality == "image")
    explanation = _explainer_func(model, method, idx, {**(params or {}), "seed": seed}, to_raw,
                                  progress, int(n_samples) + 1)
    value = float(sensitivity_max(
        explanation, x, perturb_func=perturb, perturb_radius=radius,
        n_perturb_samples=int(n_samples), max_examples_per_batch=int(n_samples),
    )[0])
    name = method if isinstance(method, str) else method.name
    settings = {
        "method": name, "radius": radius, "n_samples": int(n_samples), "seed": seed, "target": idx,
        "space": "pixel intensity 0..1" if model.info.modality == "image" else "feature std",
        "norm": "fro", "perturbation": "uniform",
    }
    return Sensitivity(value, settings)

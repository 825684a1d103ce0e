"""Adaptive integrated gradients: a doubling step schedule, stopped at the fewest steps whose
completeness delta is within the tolerance; each pass can be shown as it arrives (on_stage)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution
from explainers.methods.context import Ctx, row_sums

FIRST_STEPS = 8  # the first, coarse pass; each later pass doubles


def schedule(max_steps: int, first: int = FIRST_STEPS) -> list[int]:
    """8, 16, 32, ... below max_steps, then max_steps itself (just [max_steps] when it is
    at most `first`)."""
    steps, s = [], int(first)
    while s < max_steps:
        steps.append(s)
        s *= 2
    return [*steps, int(max_steps)]


def relative_delta(delta: np.ndarray, fx: np.ndarray, fb: np.ndarray, total: np.ndarray
                   ) -> float:
    """The largest row's |delta| over |f(x) - f(baseline)|, and never below convergence.py's
    measure (|delta| over max(|f(x)|, |sum of attributions|)), so a result that stopped under
    the tolerance is one the unconverged-IG notice also calls converged."""
    small = np.minimum(np.abs(fx - fb), np.maximum(np.abs(fx), np.abs(total)))
    return float(np.max(np.abs(delta) / np.maximum(small, 1e-12)))


@torch.no_grad()
def ends(ctx: Ctx, base: Any) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f(baseline) for the targets, from one batched forward (f(x) kept as output)."""
    bases = base if isinstance(base, tuple) else (base,)
    both = tuple(torch.cat([x, b.to(x.dtype)]) for x, b in zip(ctx.x, bases, strict=True))
    out = ctx.fn(*both)
    fx, fb = ctx.pick(out[: ctx.rows]), ctx.pick(out[ctx.rows:])
    ctx.out = fx
    return fx.double().cpu().numpy(), fb.double().cpu().numpy()


def run(ctx: Ctx, plan: list[int], attribute: Callable[[int], Any], base: Any) -> Any:
    """Attribute at each step count of `plan` until the relative delta is within the
    tolerance; when no pass meets it, keep the pass with the smallest delta (a quadrature
    rule need not improve with every doubling). n_steps records the steps kept (so a direct
    Captum call at n_steps gives the same map), extras["adaptive"] every pass tried. Each
    pass but the last goes to ctx.free["on_stage"] when given."""
    tol = float(ctx.p["tolerance"])
    fx, fb = ends(ctx, base)
    tried: list[dict[str, float]] = []
    best: tuple[float, int, Any, np.ndarray] | None = None
    on_stage = ctx.free.get("on_stage")
    for steps in plan:
        attr = attribute(steps)
        total = row_sums(attr, ctx.rows)
        delta = np.abs(total - (fx - fb))
        rel = relative_delta(delta, fx, fb, total)
        tried.append({"n_steps": int(steps), "relative_delta": rel})
        if best is None or rel < best[0]:
            best = (rel, int(steps), attr, delta)
        if rel <= tol or steps == plan[-1]:
            break
        if on_stage is not None:
            ctx.p["n_steps"] = int(steps)
            on_stage(stage(ctx, attr, delta, _record(tol, plan, tried, rel)))
    rel, steps, attr, delta = best
    ctx.p["n_steps"] = steps
    return ctx.finish(attr, delta=delta, extras={"adaptive": _record(tol, plan, tried, rel)})


def _record(tol: float, plan: list[int], tried: list[dict[str, float]], rel: float
            ) -> dict[str, Any]:
    return {"tolerance": tol, "max_steps": int(plan[-1]), "passes": list(tried),
            "converged": rel <= tol}


def stage(ctx: Ctx, attr: Any, delta: np.ndarray, record: dict[str, Any]) -> Attribution:
    """A pass's result, built like the final one but without ending the progress count."""
    counter, ctx.counter = ctx.counter, None
    try:
        return ctx.finish(attr, delta=delta, extras={"adaptive": record})
    finally:
        ctx.counter = counter

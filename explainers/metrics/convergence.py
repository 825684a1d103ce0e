"""Has a path method converged? Its completeness delta against the output, and steps that would."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from explainers.base import Attribution, get_method

TOLERANCE = 0.05  # |delta| up to 5% of the output counts as converged
MARGIN = 1.25  # suggested steps: the 1/n_steps estimate, with room to spare


@dataclass(frozen=True)
class Convergence:
    """delta / scale (scale = max(|f(x)|, |sum of attributions|)) against the tolerance; for a
    method with an n_steps parameter, the step count that should bring it under it."""

    method: str
    delta: float
    scale: float
    relative: float
    tolerance: float
    steps: int | None = None  # n_steps used (None: the method has no steps)
    suggested: int | None = None  # n_steps estimated to converge (None: converged or no steps)
    capped: bool = False  # the estimate is above the parameter's maximum

    @property
    def converged(self) -> bool:
        return self.relative <= self.tolerance

    def message(self) -> str:
        """One line for a notice beside the result ('' when converged)."""
        if self.converged:
            return ""
        head = (f"{self.method} has not converged: its completeness delta {self.delta:.3g} is "
                f"{self.relative:.0%} of the output ({self.scale:.3g}); up to "
                f"{self.tolerance:.0%} counts as converged.")
        if self.suggested is None and self.steps is None:
            return head + " This method meets completeness only in expectation or not at all."
        if self.capped:
            return head + (f" Even {self.suggested} steps (the most allowed) may not be enough: "
                           "try the gausslegendre rule or another baseline.")
        return head + f" About {self.suggested} steps (now {self.steps}) should converge."


def _total(values: object) -> float:
    parts = values.values() if isinstance(values, dict) else (values,)
    return float(sum(np.sum(np.asarray(v, dtype=float)) for v in parts))


def convergence(a: Attribution, tolerance: float = TOLERANCE) -> Convergence | None:
    """None for a result without a delta; else how far it is from completeness.

    The suggestion assumes the delta shrinks at least like 1/n_steps (the Riemann rules;
    Gauss-Legendre shrinks faster), rounded up to tens and capped at the parameter's max."""
    if a.delta is None or not math.isfinite(float(a.delta)):
        return None
    delta = abs(float(a.delta))
    scale = max(abs(float(a.output or 0.0)), abs(_total(a.values)), 1e-12)
    relative = delta / scale
    steps = a.params.get("n_steps")
    found = Convergence(a.method, delta, scale, relative, tolerance,
                        int(steps) if steps is not None else None)
    if found.converged or steps is None:
        return found
    wanted = max(2 * int(steps), math.ceil(int(steps) * relative / tolerance * MARGIN / 10) * 10)
    top = _max_steps(a.method)
    return Convergence(a.method, delta, scale, relative, tolerance, int(steps),
                       min(wanted, top) if top else wanted, bool(top and wanted > top))


def _max_steps(method: str) -> int | None:
    """The n_steps parameter's maximum (None when unbounded or the method is unknown)."""
    try:
        spec = {p.name: p for p in get_method(method).params}
    except KeyError:
        return None
    top = spec["n_steps"].max if "n_steps" in spec else None
    return int(top) if top is not None else None

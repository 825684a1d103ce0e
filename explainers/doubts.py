"""Doubts about a prediction or an explanation, each a short notice with what to do about it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explainers.base import Attribution
from explainers.metrics.convergence import convergence
from explainers.metrics.ood import OODScore
from explainers.metrics.sanity import Sanity

CLOSE_MARGIN = 0.10  # top two probabilities within 10 points: a close call
QUANT = "99%"  # explainers.metrics.ood.QUANTILE, as the notice says it


@dataclass(frozen=True)
class Doubt:
    """kind: "ood", "close", "unconverged" or "sanity"; message says what is wrong and what to
    do; action names a one-click fix the dashboard may offer (e.g. ("n_steps", 120))."""

    kind: str
    message: str
    action: tuple[str, Any] | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def close_call(probs: np.ndarray, class_names: tuple[str, ...] | list[str],
               margin: float = CLOSE_MARGIN) -> Doubt | None:
    """The top two classes within `margin` of each other (probabilities), else None."""
    p = np.asarray(probs, dtype=np.float64).ravel()
    if p.size < 2:
        return None
    first, second = (int(i) for i in np.argsort(-p, kind="stable")[:2])
    gap = float(p[first] - p[second])
    if gap >= margin:
        return None
    a, b = class_names[first], class_names[second]
    return Doubt("close", (
        f"Close call: {a!r} {p[first]:.0%} vs {b!r} {p[second]:.0%}. An explanation of {a!r} "
        f"does not say why not {b!r}: explain {b!r} too (Target class) and compare the maps."),
        ("target", second), {"first": first, "second": second, "gap": gap})


def far_from_training(score: OODScore) -> Doubt | None:
    """The input is unlike the bundled samples the threshold was calibrated on, else None."""
    if not score.far:
        return None
    c = score.calibration
    if "statistics" in score.reasons:
        why = (f"its input statistics are {score.statistics:.1f} standard deviations from those "
               f"of {c.n} bundled samples (they stay under {c.stat_threshold:.1f})")
    else:
        why = (f"the model's energy score {score.energy:.2f} is above that of {QUANT} of "
               f"{c.n} bundled samples")
    return Doubt("ood", (
        f"This input looks unlike the data {c.model} was trained on: {why}. The prediction "
        "and its explanations may mean little: try an input like the model's samples."),
        None, {"statistics": score.statistics, "energy": score.energy})


def unconverged(a: Attribution) -> Doubt | None:
    """A path method whose completeness delta is large against the output, else None."""
    found = convergence(a)
    if found is None or found.converged:
        return None
    fix = ("n_steps", found.suggested) if found.suggested is not None and not found.capped \
        else None
    return Doubt("unconverged", found.message(), fix, {"relative": found.relative})


def failed_sanity(s: Sanity, where: str = "") -> Doubt | None:
    """A method whose map survived randomising the model's weights, else None."""
    if s.passed:
        return None
    said = ", ".join(f"{v} maps {s.variants[v][-1]:.2f}" for v in s.failed)
    return Doubt("sanity", (
        f"{s.method} failed the sanity check{where}: after every layer was randomised its "
        f"{said} still correlate with the trained model's (threshold {s.threshold:.2f}). Its "
        "map may show the input more than what the model learned: read it beside a method "
        "that passed (e.g. grad_cam or saliency)."), None, {"failed": s.failed})


def result_doubts(a: Attribution, sanity: Sanity | None = None, where: str = "") -> list[Doubt]:
    """The doubts about one explanation: unconverged path, failed sanity check."""
    found = [unconverged(a), failed_sanity(sanity, where) if sanity is not None else None]
    return [d for d in found if d is not None]

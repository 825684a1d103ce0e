"""Deletion and insertion curves with their areas, beside a random-order reference."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution, Progress
from explainers.generation.trust import metric_target, unit_groups
from explainers.metrics._common import as_list, batch_size, batched_outputs, finite
from explainers.metrics.units import Units, make_units, merged
from models.base import ModelAdapter
from models.errors import InputError


@dataclass(frozen=True)
class FaithfulnessCurves:
    """Target probability as the most important units are removed (deletion) or added (insertion).

    Lower deletion AUC and higher insertion AUC are better; the random_* curves remove/add the
    same units in random orders (averaged over `n_random` orders) for reference.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    random_deletion: np.ndarray
    random_insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float
    random_insertion_auc: float
    unit: str = "pixels"
    n_units: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def deletion_gain(self) -> float:
        """How much faster than random the output falls (random AUC - deletion AUC; > 0 is good)."""
        return self.random_deletion_auc - self.deletion_auc

    @property
    def insertion_gain(self) -> float:
        """How much faster than random the output rises (insertion AUC - random AUC; > 0 is good)."""
        return self.insertion_auc - self.random_insertion_auc

    def at(self, fraction: float) -> dict[str, float]:
        """The four curves at the step nearest `fraction` (for plain-language readings)."""
        i = int(np.argmin(np.abs(self.fractions - fraction)))
        return {
            "fraction": float(self.fractions[i]),
            "deletion": float(self.deletion[i]),
            "insertion": float(self.insertion[i]),
            "random_deletion": float(self.random_deletion[i]),
            "random_insertion": float(self.random_insertion[i]),
        }

    def to_dict(self) -> dict[str, Any]:
        curves = ("fractions", "deletion", "insertion", "random_deletion", "random_insertion")
        aucs = ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc")
        out: dict[str, Any] = {k: as_list(getattr(self, k)) for k in curves}
        out.update({k: finite(getattr(self, k)) for k in aucs})
        out.update(deletion_gain=finite(self.deletion_gain), insertion_gain=finite(self.insertion_gain))
        out.update(unit=self.unit, n_units=self.n_units, settings=dict(self.settings))
        return out


def _orders(scores: np.ndarray, n_random: int, seed: int) -> list[np.ndarray]:
    """Most-important-first order, then n_random random permutations."""
    rng = np.random.default_rng(seed)
    first = np.argsort(-scores, kind="stable")
    return [first] + [rng.permutation(scores.size) for _ in range(n_random)]


def _presence(order: np.ndarray, counts: np.ndarray, insertion: bool) -> torch.Tensor:
    """Rows of presence for one order: row j has the first counts[j] units removed (or added)."""
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    touched = rank[None, :] < counts[:, None]  # [steps+1, n]
    rows = touched if insertion else ~touched
    return torch.as_tensor(rows, dtype=torch.float32)


def curves_for(
    model: ModelAdapter,
    units: Units,
    scores: np.ndarray,
    target: int,
    *,
    steps: int = 20,
    n_random: int = 3,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """Deletion/insertion curves (and random references) as target probabilities, batched."""
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(fractions * units.n).astype(np.int64)
    orders = _orders(scores, n_random, seed)
    rows = torch.cat(
        [_presence(o, counts, ins) for o in orders for ins in (False, True)], dim=0
    )  # order0-del, order0-ins, rand1-del, rand1-ins, ...
    size = batch_size(units.x, units.x[0].device)
    probs = batched_outputs(
        model, lambda sl: units.build(rows[sl]), rows.shape[0], target,
        output="prob", size=size, progress=progress,
    ).reshape(len(orders), 2, steps + 1)
    return {
        "fractions": fractions,
        "deletion": probs[0, 0],
        "insertion": probs[0, 1],
        "random_deletion": probs[1:, 0].mean(0) if n_random else np.full(steps + 1, np.nan),
        "random_insertion": probs[1:, 1].mean(0) if n_random else np.full(steps + 1, np.nan),
    }


def output_name(a: Attribution) -> str:
    """What the curves plot: the target's probability, or a continuation's log-probability."""
    return "log_prob" if a.modality == "generation" else "prob"


def default_random(n_units: int) -> int:
    """Random orders to average: 3 for few units, 1 for many (the curve barely varies then)."""
    return 3 if n_units < 1000 else 1


def auc(fractions: np.ndarray, curve: np.ndarray) -> float:
    """Area under a curve over fractions 0..1 (trapezoid rule)."""
    return float(np.trapezoid(curve, fractions))


def deletion_insertion(
    model: ModelAdapter,
    raw: Any,
    a: Attribution,
    steps: int = 20,
    baseline: str | None = None,
    seed: int = 0,
    *,
    n_random: int | None = None,
    superpixels: int | None = None,
    progress: Progress | None = None,
) -> FaithfulnessCurves:
    """Deletion and insertion curves of attribution `a` on `raw`, with random-order references.

    Units are pixels or SLIC superpixels for images (`superpixels`: 0 pixels, k segments, None
    auto: pixels up to 64x64, else 100 segments), tokens for text (words when
    the attribution merged subwords; special tokens stay), features for tabular. Removed units
    take the baseline: None = the model's default kind (the first of baseline_kinds, else
    "zero"; "pad" for tokens). n_random random orders are averaged for the reference (None: 3,
    or 1 for 1000+ units, where one random order is already close to its mean).
    """
    if not 1 <= int(steps) <= 1000:
        raise InputError(f"steps must be in 1..1000, got {steps!r}")
    units = make_units(model, raw, baseline, superpixels, words=merged(a), groups=unit_groups(a))
    n_random = default_random(units.n) if n_random is None else int(n_random)
    if not 0 <= n_random <= 50:
        raise InputError(f"n_random must be in 0..50, got {n_random!r}")
    c = curves_for(
        model, units, units.scores(a), metric_target(model, a),
        steps=int(steps), n_random=int(n_random), seed=seed, progress=progress,
    )
    f = c["fractions"]
    settings = {
        "steps": int(steps), "baseline": units.baseline, "seed": seed, "n_random": int(n_random),
        "superpixels": units.n if units.unit == "superpixels" else 0, "output": output_name(a),
        "order": "highest attribution first",
    }
    return FaithfulnessCurves(
        fractions=f, deletion=c["deletion"], insertion=c["insertion"],
        random_deletion=c["random_deletion"], random_insertion=c["random_insertion"],
        deletion_auc=auc(f, c["deletion"]), insertion_auc=auc(f, c["insertion"]),
        random_deletion_auc=auc(f, c["random_deletion"]),
        random_insertion_auc=auc(f, c["random_insertion"]),
        unit=units.unit, n_units=units.n, settings=settings,
    )

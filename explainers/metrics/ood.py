"""Is an input far from the model's training data? Input statistics and energy vs bundled samples.

Two scores, each calibrated on the model's bundled held-out samples (`samples()`):
- input statistics: for images the mean, spread and the share of near-darkest / near-brightest
  pixels of the model's input tensor (per channel); for tabular rows the features themselves;
  scored as the largest |z| against the samples. A grey gradient shown to an MNIST model is
  more than 10 standard deviations from any digit.
- energy, -logsumexp(logits) (Liu et al. 2020): higher on inputs unlike the training data.
An input is flagged when either score is beyond what the samples themselves reach (their 99th
percentile, with a margin for the statistics).
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.base import HasSamples, ModelAdapter

MIN_SAMPLES = 20  # fewer bundled samples than this: no calibrated threshold, no verdict
QUANTILE = 0.99
STAT_MARGIN = 1.5  # statistics threshold: 1.5x the samples' own 99th percentile of max |z|
STAT_FLOOR = 3.0


@dataclass(frozen=True)
class Calibration:
    """Thresholds from n bundled samples (statistics' mean/std and the two cut-offs)."""

    model: str
    n: int
    mean: np.ndarray | None
    std: np.ndarray | None
    stat_threshold: float | None
    energy_threshold: float


@dataclass(frozen=True)
class OODScore:
    """One input's distance from the calibration samples; `far` is the verdict."""

    statistics: float | None  # max |z| of the input statistics (None: not scored)
    energy: float
    calibration: Calibration

    @property
    def reasons(self) -> tuple[str, ...]:
        c, out = self.calibration, []
        if self.statistics is not None and c.stat_threshold is not None \
                and self.statistics > c.stat_threshold:
            out.append("statistics")
        if self.energy > c.energy_threshold:
            out.append("energy")
        return tuple(out)

    @property
    def far(self) -> bool:
        return bool(self.reasons)


def _first(x: Any) -> torch.Tensor:
    return x[0] if isinstance(x, tuple | list) else x


def statistics(model: ModelAdapter, raw: Any) -> np.ndarray | None:
    """Summary statistics of the model's input tensor (None for inputs not scored this way)."""
    modality = model.info.modality
    if modality not in ("image", "fusion", "tabular"):
        return None
    with torch.no_grad():
        x = _first(model.preprocess(raw)).detach().float().cpu()[0]
    if modality == "tabular":
        return x.flatten().numpy().astype(np.float64)
    x = x.reshape(x.shape[0], -1) if x.dim() == 3 else x.reshape(1, -1)
    lo, hi = x.min(dim=1, keepdim=True).values, x.max(dim=1, keepdim=True).values
    span = (hi - lo).clamp_min(1e-8)
    rows = [x.mean(1), x.std(1), ((x - lo) <= 0.05 * span).float().mean(1),
            ((hi - x) <= 0.05 * span).float().mean(1)]
    return torch.stack(rows, 1).flatten().numpy().astype(np.float64)


def energy(model: ModelAdapter, raw: Any) -> float:
    """-logsumexp of the logits: higher means less like the training data."""
    x = model.preprocess(raw)
    with torch.no_grad(), model.lock:
        logits = model.forward(*x) if isinstance(x, tuple) else model.forward(x)
    return float(-torch.logsumexp(logits.float()[0], dim=-1))


def calibrate(model: ModelAdapter, raws: Sequence[Any] | None = None, n: int = 300,
              seed: int = 0, budget_s: float = 3.0) -> Calibration:
    """Thresholds from `raws`, or from up to n of the model's bundled held-out samples scored
    within `budget_s` seconds (at least MIN_SAMPLES of them: a slow transformer gets fewer)."""
    start, timed = time.perf_counter(), raws is None
    if raws is None:
        raws = [r for r, _ in model.samples(n, seed)] if isinstance(model, HasSamples) else []
    scored, found = [], []
    for r in raws:
        if timed and len(scored) >= MIN_SAMPLES and time.perf_counter() - start > budget_s:
            break
        scored.append(r)
        found.append(energy(model, r))
    raws, energies = scored, np.array(found, dtype=np.float64)
    if len(raws) < MIN_SAMPLES:
        return Calibration(model.info.name, len(raws), None, None, None, math.inf)
    stats = [statistics(model, r) for r in raws]
    mean = std = stat_threshold = None
    if stats[0] is not None:
        s = np.stack(stats)
        mean, std = s.mean(0), np.maximum(s.std(0), 1e-6)
        z = np.abs((s - mean) / std).max(1)
        stat_threshold = max(STAT_FLOOR, STAT_MARGIN * float(np.quantile(z, QUANTILE)))
    return Calibration(model.info.name, len(raws), mean, std, stat_threshold,
                       float(np.quantile(energies, QUANTILE)))


def ood_score(model: ModelAdapter, raw: Any, calibration: Calibration) -> OODScore:
    """Both scores of one input against a calibration of the same model."""
    stat = None
    if calibration.mean is not None:
        s = statistics(model, raw)
        if s is not None and s.shape == calibration.mean.shape:
            stat = float(np.abs((s - calibration.mean) / calibration.std).max())
    return OODScore(stat, energy(model, raw), calibration)

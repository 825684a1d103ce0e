"""trust_report: every trust score for several attributions of one input, ready for UI and reports."""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explainers.base import Attribution, Progress
from explainers.generation.trust import metric_target, unit_groups
from explainers.metrics._common import finite, flat, is_stochastic, tick
from explainers.metrics.agreement import Agreement, agreement
from explainers.metrics.captum_metrics import infidelity, max_sensitivity
from explainers.metrics.faithfulness import (
    FaithfulnessCurves,
    auc,
    curves_for,
    default_random,
    output_name,
)
from explainers.metrics.reading import MethodTrust, trust_summary
from explainers.metrics.sanity import layer_blocks, layers_top_down, sanity_check
from explainers.metrics.stability import Stability, stability
from explainers.metrics.units import Units, make_units, merged
from models.base import ModelAdapter
from models.errors import InputError


@dataclass(frozen=True)
class TrustReport:
    """Trust scores of several methods on one input; `to_dict()` is JSON-ready."""

    model_name: str
    modality: str
    target: int
    target_label: str
    unit: str
    n_units: int
    methods: tuple[MethodTrust, ...]
    agreement: Agreement | None
    ranking: tuple[str, ...]
    mean_rank: dict[str, float]
    readings: dict[str, list[str]]
    heavy: bool
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def row(self, method: str) -> MethodTrust:
        for r in self.methods:
            if r.method == method:
                return r
        raise InputError(f"no trust scores for {method!r}; have: {[r.method for r in self.methods]}")

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        """Plain JSON types only (NaN -> None); `maps=True` adds stability mean/std maps."""
        return {
            "model_name": self.model_name, "modality": self.modality, "target": self.target,
            "target_label": self.target_label, "unit": self.unit, "n_units": self.n_units,
            "methods": [r.to_dict(maps=maps) for r in self.methods],
            "agreement": None if self.agreement is None else self.agreement.to_dict(),
            "ranking": list(self.ranking),
            "mean_rank": {k: finite(v) for k, v in self.mean_rank.items()},
            "readings": {k: list(v) for k, v in self.readings.items()},
            "heavy": self.heavy, "settings": dict(self.settings), "seconds": round(self.seconds, 3),
        }


def _named(attributions: Sequence[Attribution] | Mapping[str, Attribution]) -> list[tuple[str, Attribution]]:
    if isinstance(attributions, Mapping):
        items = [(str(k), v) for k, v in attributions.items()]
    else:
        items, seen = [], {}
        for a in attributions:
            seen[a.method] = seen.get(a.method, 0) + 1
            items.append((a.method if seen[a.method] == 1 else f"{a.method}#{seen[a.method]}", a))
    if not items:
        raise InputError("trust_report needs at least one attribution")
    return items


class _Counter:
    """Overall progress over several scores; child(n) maps a score's own (done, n) into it."""

    def __init__(self, progress: Progress | None, total: int):
        self.progress, self.total, self.done = progress, max(1, total), 0

    def child(self, n: int) -> Progress:
        """A callback for a score worth n units: its (done, total) lands in [base, base + n]."""
        base = self.done
        return lambda d, t: tick(self.progress, base + min(n, n * d // max(1, t)), self.total)

    def advance(self, n: int) -> None:
        self.done += n
        tick(self.progress, min(self.done, self.total), self.total)


def _heavy_work(model: ModelAdapter, a: Attribution, s: dict) -> dict[str, int]:
    """Explanations each heavy score of `a` will run (for the progress total)."""
    stochastic = is_stochastic(a.method)
    n_blocks = len(layer_blocks(layers_top_down(model.module), s["sanity_steps"]))
    continuous = model.info.modality in ("image", "tabular")
    sanity = 0 if model.info.modality == "generation" else n_blocks + (1 if stochastic else 0)
    return {"max_sensitivity": s["sens_samples"] + 1 if continuous else 0,
            "stability": len(s["seeds"]) if stochastic else 0, "sanity": sanity}


def _curves(
    model, units: Units, a: Attribution, ref: dict, s: dict, progress: Progress | None
) -> FaithfulnessCurves:
    """Curves of one attribution; random references are computed once per target and unit and shared."""
    target = metric_target(model, a)
    key = (getattr(target, "key", target), units.unit)
    have = key in ref
    n_random = default_random(units.n) if s["n_random"] is None else s["n_random"]
    c = curves_for(model, units, units.scores(a), target, steps=s["steps"],
                   n_random=0 if have else n_random, seed=s["seed"], progress=progress)
    if not have:
        ref[key] = (c["random_deletion"], c["random_insertion"])
    rd, ri = ref[key]
    f = c["fractions"]
    settings = {k: s[k] for k in ("steps", "seed")}
    settings.update(baseline=units.baseline, output=output_name(a), order="highest attribution first",
                    n_random=n_random, superpixels=units.n if units.unit == "superpixels" else 0)
    return FaithfulnessCurves(
        f, c["deletion"], c["insertion"], rd, ri, auc(f, c["deletion"]), auc(f, c["insertion"]),
        auc(f, rd), auc(f, ri), units.unit, units.n, settings,
    )


def _deterministic(a: Attribution, seeds: tuple[int, ...]) -> Stability:
    """A method without a seed: every seed gives this map, stability 1 (not recomputed)."""
    zeros = {k: np.zeros_like(np.asarray(v, float)) for k, v in a.values.items()} \
        if isinstance(a.values, dict) else np.zeros_like(np.asarray(a.values, float))
    return Stability(a.method, seeds, a.values, zeros, 1.0, 1.0, False,
                     {"seeds": list(seeds), "computed": False, "reason": "method is deterministic"})


def _heavy(model, raw, a: Attribution, row: dict, s: dict, count: _Counter) -> None:
    """max-sensitivity, stability and the sanity check of one method (fills `row`)."""
    work = _heavy_work(model, a, s)
    if a.params.get("baselines") == "custom":
        reason = "a custom baseline is not stored in the attribution, so the method cannot be re-run"
        row["skipped"].update(dict.fromkeys(("max_sensitivity", "stability", "sanity"), reason))
        count.advance(sum(work.values()))
        return
    params = {k: v for k, v in a.params.items() if k not in ("seed", "progress")}
    target = a.target_label if model.info.modality == "generation" else a.target
    if work["max_sensitivity"]:
        row["max_sensitivity"] = max_sensitivity(
            model, raw, a.method, params, n_samples=s["sens_samples"], seed=s["seed"],
            target=a.target, progress=count.child(work["max_sensitivity"]))
    else:
        row["skipped"]["max_sensitivity"] = (
            f"max-sensitivity needs a continuous input; {model.info.modality} inputs have no small neighbourhood")
    count.advance(work["max_sensitivity"])
    if work["stability"]:
        row["stability"] = stability(model, raw, a.method, params, s["seeds"], target=target,
                                     progress=count.child(work["stability"]))
    else:
        row["stability"] = _deterministic(a, s["seeds"])
    count.advance(work["stability"])
    if not work["sanity"]:
        row["skipped"]["sanity"] = ("the weight-randomisation check is not run on language "
                                    "models here (it re-explains with every block randomised)")
        return
    row["sanity"] = sanity_check(model, raw, a.method, params, s["seed"], target=a.target,
                                 reference=a, max_steps=s["sanity_steps"],
                                 progress=count.child(work["sanity"]))
    count.advance(work["sanity"])


def _row(model, raw, name: str, a: Attribution, s: dict, units: dict, ref: dict,
         count: _Counter, heavy: bool) -> MethodTrust:
    """Every score of one method (units of removal cached per token/word level)."""
    groups = unit_groups(a)
    words = merged(a) if groups is None else groups.tobytes()
    if words not in units:
        units[words] = make_units(model, raw, s["baseline"], s["superpixels"], words=merged(a),
                                  groups=groups)
    row: dict[str, Any] = {"method": name, "delta": finite(a.delta), "skipped": {}}
    row["faithfulness"] = _curves(model, units[words], a, ref, s, count.child(1))
    count.advance(1)
    row["infidelity"] = infidelity(model, raw, a, s["n_perturb"], seed=s["seed"],
                                   baseline=s["baseline"], progress=count.child(1))
    count.advance(1)
    if heavy:
        _heavy(model, raw, a, row, s, count)
    return MethodTrust(**row)


def trust_report(
    model: ModelAdapter,
    raw: Any,
    attributions: Sequence[Attribution] | Mapping[str, Attribution],
    progress: Progress | None = None,
    heavy: bool = True,
    *,
    steps: int = 20,
    seed: int = 0,
    baseline: str | None = None,
    n_random: int | None = None,
    superpixels: int | None = None,
    n_perturb: int = 64,
    sens_samples: int = 5,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    sanity_steps: int = 4,
    k: int | None = None,
    fraction: float = 0.1,
) -> TrustReport:
    """Every trust score for attributions of one input; heavy=False skips the re-explaining ones.

    Light (fast): deletion/insertion curves, infidelity, completeness delta, agreement.
    Heavy: max-sensitivity, stability over `seeds` (stochastic methods) and the sanity check.
    progress(done, total) is called after each score; return False to cancel (CancelledError).
    """
    start = time.perf_counter()
    items = _named(attributions)
    s = {"steps": int(steps), "seed": seed, "superpixels": superpixels, "baseline": baseline,
         "n_random": None if n_random is None else int(n_random), "n_perturb": int(n_perturb),
         "sens_samples": int(sens_samples), "seeds": tuple(int(x) for x in seeds),
         "sanity_steps": int(sanity_steps), "fraction": fraction}
    heavy_total = sum(sum(_heavy_work(model, a, s).values()) for _, a in items) if heavy else 0
    count, ref, units = _Counter(progress, 2 * len(items) + heavy_total), {}, {}
    rows = [_row(model, raw, name, a, s, units, ref, count, heavy) for name, a in items]
    sizes = {flat(a).size for _, a in items}
    agree = agreement(dict(items), k) if len(items) > 1 and len(sizes) == 1 else None
    first, main = items[0][1], next(iter(units.values()))
    order, mean, readings = trust_summary(rows, first.target_label, fraction)
    settings = {**s, "seeds": list(s["seeds"]), "baseline": main.baseline}
    return TrustReport(
        model.info.name, model.info.modality, first.target, first.target_label, main.unit, main.n,
        tuple(rows), agree, tuple(order), mean, readings, heavy, settings, time.perf_counter() - start,
    )

"""Per-method trust rows, a ranking of the methods for one input, and plain-language readings."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explainers.metrics._common import finite
from explainers.metrics.captum_metrics import Infidelity, Sensitivity
from explainers.metrics.faithfulness import FaithfulnessCurves
from explainers.metrics.sanity import Sanity
from explainers.metrics.stability import Stability


@dataclass(frozen=True)
class MethodTrust:
    """Every trust score of one method on one input (None = not computed; `skipped` says why)."""

    method: str
    faithfulness: FaithfulnessCurves | None = None
    infidelity: Infidelity | None = None
    max_sensitivity: Sensitivity | None = None
    stability: Stability | None = None
    sanity: Sanity | None = None
    delta: float | None = None  # completeness (convergence) delta of path methods
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self, maps: bool = False) -> dict[str, Any]:
        def d(x: Any) -> Any:
            return None if x is None else x.to_dict()

        return {
            "method": self.method, "faithfulness": d(self.faithfulness),
            "infidelity": d(self.infidelity), "max_sensitivity": d(self.max_sensitivity),
            "stability": None if self.stability is None else self.stability.to_dict(maps=maps),
            "sanity": d(self.sanity), "delta": finite(self.delta), "skipped": dict(self.skipped),
        }


# (name, score getter, higher is better)
CRITERIA: tuple[tuple[str, Callable[[MethodTrust], float | None], bool], ...] = (
    ("deletion", lambda r: r.faithfulness and r.faithfulness.deletion_auc, False),
    ("insertion", lambda r: r.faithfulness and r.faithfulness.insertion_auc, True),
    ("infidelity", lambda r: r.infidelity and _first(r.infidelity.relative, r.infidelity.value), False),
    ("max_sensitivity", lambda r: r.max_sensitivity and r.max_sensitivity.value, False),
    ("stability", lambda r: r.stability and r.stability.mean_pairwise_spearman, True),
    ("sanity", lambda r: r.sanity and r.sanity.final, False),
)


def _first(*xs: float | None) -> float | None:
    return next((x for x in xs if x is not None), None)


def rank_methods(rows: Sequence[MethodTrust]) -> tuple[list[str], dict[str, float]]:
    """Methods best first by mean rank over the criteria that at least two methods have."""
    from scipy.stats import rankdata

    ranks: dict[str, list[float]] = {r.method: [] for r in rows}
    for _, get, higher in CRITERIA:
        vals = {r.method: finite(get(r)) for r in rows}
        vals = {m: v for m, v in vals.items() if v is not None}
        if len(vals) < 2:
            continue
        names = list(vals)
        score = np.array([vals[m] for m in names]) * (-1 if higher else 1)
        for m, rk in zip(names, rankdata(score), strict=True):
            ranks[m].append(float(rk))
    mean = {m: float(np.mean(v)) if v else float("nan") for m, v in ranks.items()}
    order = sorted(ranks, key=lambda m: (np.isnan(mean[m]), mean[m]))
    return order, mean


UNIT_WORDS = {"pixels+tokens": "pixels and tokens"}


def _pct(f: float) -> str:
    return f"{100 * f:.0f}%"


def _fmt(x: float, *others: float) -> str:
    """x with 2 decimals, more (up to 4) when that is needed to tell it from `others`."""
    for d in (2, 3, 4):
        if all(round(x, d) != round(o, d) for o in others):
            return f"{x:.{d}f}"
    return f"{x:.4f}"


def faithfulness_reading(c: FaithfulnessCurves, label: str, fraction: float = 0.1) -> list[str]:
    """'Removing the 10% most important pixels drops the probability of X from 0.78 to 0.12; ...'."""
    at, unit = c.at(fraction), UNIT_WORDS.get(c.unit, c.unit)
    p0, pct = float(c.deletion[0]), _pct(at["fraction"])
    d, rd = at["deletion"], at["random_deletion"]
    count = int(round(at["fraction"] * c.n_units))

    def verb(v: float) -> str:
        return "drops" if v <= p0 else "raises"

    return [
        f"Removing the {pct} most important {unit} ({count} of {c.n_units}) {verb(d)} the probability "
        f"of '{label}' from {_fmt(p0, d)} to {_fmt(d, p0)}; removing {pct} at random "
        f"{verb(rd)} it to {_fmt(rd, p0)}.",
        f"Keeping only the {pct} most important {unit} gives {_fmt(at['insertion'])} "
        f"(a random {pct}: {_fmt(at['random_insertion'])}; all removed: {_fmt(float(c.insertion[0]))}).",
        f"Deletion AUC {c.deletion_auc:.3f} vs {c.random_deletion_auc:.3f} at random (lower is "
        f"better); insertion AUC {c.insertion_auc:.3f} vs {c.random_insertion_auc:.3f} (higher is better).",
    ]


def infidelity_reading(inf: Infidelity) -> str:
    """The infidelity sentence; every number in it follows from value and relative."""
    s = inf.settings
    head = (f"Infidelity {inf.value:.3g} under {s['perturbation']} perturbation of {s['unit']} "
            f"(noise {s['noise']}; squared {s['output']} units, lower is better)")
    if inf.relative is None:
        return head + "; the output did not move under these perturbations, so there is nothing to explain."
    rel = inf.relative
    spread = inf.value / rel if rel > 0 else None
    moved = f"the {s['output']} itself moves by {spread:.3g} (mean squared change), so " \
        if spread is not None else ""
    share = (f"the map accounts for {_pct(1 - rel)} of that movement" if rel < 1
             else "the map accounts for none of that movement")
    return f"{head}: {moved}relative infidelity is {rel:.2g} and {share}."


def sanity_reading(sn: Sanity) -> str:
    """The sanity sentence: each variant's final correlation, and which variant failed."""
    finals = ", ".join(f"{v} maps {c[-1]:.2f}" for v, c in sn.variants.items())
    if sn.passed:
        return (f"Sanity check passed: with {sn.settings['layers']} layers randomised the maps' rank "
                f"correlation with the original falls below {sn.threshold:g} ({finals}).")
    return (f"Sanity check FAILED ({' and '.join(sn.failed)}): with the model's weights "
            f"randomised the maps still correlate with the original ({finals}; threshold "
            f"{sn.threshold:g}), so they show the input more than what the model learned.")


def score_readings(r: MethodTrust) -> list[str]:
    """One sentence per computed score other than the curves."""
    out = []
    if r.infidelity is not None:
        out.append(infidelity_reading(r.infidelity))
    if r.max_sensitivity is not None:
        v, rad = r.max_sensitivity.value, r.max_sensitivity.settings["radius"]
        out.append(f"Max-sensitivity {v:.3f}: jittering the input by up to {rad} "
                   f"({r.max_sensitivity.settings['space']}) changes the map by up to {_pct(v)} of its size.")
    if r.stability is not None:
        st = r.stability
        out.append("Deterministic: every seed gives the same map (stability 1)." if not st.stochastic
                   else f"Across {len(st.seeds)} seeds the maps agree with mean rank correlation "
                   f"{st.mean_pairwise_spearman:.2f} (lowest {st.min_pairwise_spearman:.2f}).")
    if r.sanity is not None:
        out.append(sanity_reading(r.sanity))
    if r.delta is not None:
        out.append(f"Completeness: the attributions add up to the output difference within "
                   f"{abs(r.delta):.2g} (convergence delta; 0 is exact).")
    return out


def trust_summary(
    rows: Sequence[MethodTrust], target_label: str, fraction: float = 0.1
) -> tuple[list[str], dict[str, float], dict[str, list[str]]]:
    """(ranking best first, mean rank per method, plain-language sentences per method + '_ranking')."""
    order, mean = rank_methods(rows)
    readings: dict[str, list[str]] = {}
    for r in rows:
        faith = faithfulness_reading(r.faithfulness, target_label, fraction) if r.faithfulness else []
        readings[r.method] = faith + score_readings(r)
    if len(order) > 1 and not np.isnan(mean[order[0]]):
        ranked = ", ".join(f"{i + 1}. {m} ({mean[m]:.1f})" for i, m in enumerate(order))
        readings["_ranking"] = [f"Ranking for this input (mean rank over the scores computed; lower is better): {ranked}."]
    return order, mean, readings

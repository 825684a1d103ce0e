"""Several models of one modality on one input: their predictions, maps and how far they agree."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainers.base import Attribution, explain, get_method
from explainers.compare_models import default_k, flat, rank_agreement
from models.base import ModelAdapter
from models.errors import InputError


@dataclass(frozen=True)
class ModelRun:
    """One model's prediction on the input and its explanation (or why it failed)."""

    name: str
    probs: np.ndarray
    attribution: Attribution | None
    error: str = ""

    @property
    def pred(self) -> int:
        return int(np.argmax(self.probs))


@dataclass(frozen=True)
class SideBySide:
    """Pairwise Spearman rho and top-k overlap of |maps| (NaN where two maps cannot be compared:
    a failed run, or maps of different sizes); `notes` say why."""

    method: str
    runs: tuple[ModelRun, ...]
    labels: tuple[str, ...]  # each run's predicted class name
    spearman: np.ndarray
    topk: np.ndarray
    k: int | None
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    @property
    def same_class(self) -> bool:
        """Every model predicts the same class (by name)."""
        return len(set(self.labels)) == 1

    def to_dict(self) -> dict[str, Any]:
        def clean(m: np.ndarray) -> list:
            return [[None if math.isnan(x) else float(x) for x in row] for row in m]

        return {"method": self.method, "models": self.names, "predicted": list(self.labels),
                "same_class": self.same_class, "spearman": clean(self.spearman),
                "topk": clean(self.topk), "k": self.k, "notes": list(self.notes)}


def agreement(method: str, runs: Sequence[ModelRun], class_names: Sequence[Sequence[str]],
              top_k: int | None = None) -> SideBySide:
    """Build the comparison from finished runs (class_names: each run's model's classes)."""
    n = len(runs)
    rho, top = np.eye(n), np.eye(n)
    notes, sizes = [], {flat(r.attribution).size for r in runs if r.attribution is not None}
    k = (default_k(min(sizes)) if top_k is None else int(top_k)) if sizes else None
    for i in range(n):
        for j in range(i + 1, n):
            a, b = runs[i].attribution, runs[j].attribution
            rho[i, j] = rho[j, i] = top[i, j] = top[j, i] = math.nan
            if a is None or b is None:
                continue
            try:
                rho[i, j], top[i, j] = rank_agreement(flat(a), flat(b), k)
            except InputError as exc:
                notes.append(f"{runs[i].name} vs {runs[j].name}: {exc}")
                continue
            rho[j, i], top[j, i] = rho[i, j], top[i, j]
    for r in runs:
        if r.error:
            notes.append(f"{r.name}: {r.error}")
        if r.attribution is None:
            rho[runs.index(r), runs.index(r)] = top[runs.index(r), runs.index(r)] = math.nan
    labels = tuple(str(names[r.pred]) for r, names in zip(runs, class_names, strict=True))
    return SideBySide(method, tuple(runs), labels, rho, top, k, tuple(notes))


def check_models(models: Sequence[ModelAdapter]) -> None:
    if len(models) < 2:
        raise InputError(f"side by side needs two or more models, got {len(models)}")
    kinds = {m.info.modality for m in models}
    if len(kinds) > 1:
        raise InputError("models side by side must share one modality; got "
                         + ", ".join(f"{m.info.name} ({m.info.modality})" for m in models))


def side_by_side(models: Sequence[ModelAdapter], raw: Any, method: str,
                 target: int | None = None, params: dict[str, Any] | None = None,
                 seed: int = 0, top_k: int | None = None) -> SideBySide:
    """Predict and explain `raw` with every model (target None: each its own predicted class),
    then compare the maps pairwise. A model the method cannot run on gets an error, not a raise."""
    check_models(models)
    spec = get_method(method)
    p = dict(params or {})
    if spec.stochastic:
        p.setdefault("seed", seed)  # the same noise for every model
    runs = []
    for m in models:
        probs = np.asarray(m.predict(raw), dtype=float)
        why = spec.why_not(m)
        if why:
            runs.append(ModelRun(m.info.name, probs, None, f"{method} does not run: {why}"))
            continue
        runs.append(ModelRun(m.info.name, probs, explain(m, raw, method, target=target, **p)))
    return agreement(method, runs, [m.info.class_names for m in models], top_k)

"""Recompute every attribution of a report JSON and compare with the recorded values."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explainers.report.inputs import raw_from_record
from explainers.report.record import ATOL, RTOL, read_document, values_of
from models.errors import InputError


@dataclass(frozen=True)
class Check:
    """One method's recomputation: the largest |difference| and whether it is within tolerance."""

    method: str
    max_abs_diff: float
    tolerance: float
    ok: bool
    note: str = ""


def seed_everything(seed: int | None) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs."""
    if seed is None:
        return
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _as_tuples(v: Any) -> Any:
    """JSON lists back to tuples (Captum takes tuples for window shapes and strides)."""
    if isinstance(v, list):
        return tuple(_as_tuples(x) for x in v)
    if isinstance(v, dict):
        return {k: _as_tuples(x) for k, x in v.items()}
    return v


def _max_diff(old: Any, new: Any) -> tuple[float, float]:
    """(max |new - old|, max |old|) over every part; inf when shapes differ."""
    if isinstance(old, dict):
        if not isinstance(new, dict) or set(old) != set(new):
            return float("inf"), 0.0
        pairs = [_max_diff(old[k], new[k]) for k in old]
        return max(p[0] for p in pairs), max(p[1] for p in pairs)
    old, new = np.asarray(old, float), np.asarray(new, float)
    if old.shape != new.shape:
        return float("inf"), 0.0
    if old.size == 0:
        return 0.0, 0.0
    return float(np.nanmax(np.abs(new - old))), float(np.nanmax(np.abs(old)))


def run_method(model: Any, raw: Any, method: str, target: Any, params: dict[str, Any]) -> Any:
    """explainers.explain() without its `method` argument clashing with a parameter of that name
    (integrated_gradients has one: Captum's integration `method`)."""
    from dataclasses import replace

    from explainers.base import get_method, resolve_target
    from models.errors import UnsupportedError

    explainer = get_method(method)
    if not explainer.supports(model):
        raise UnsupportedError(explainer.why_not(model))
    with model.lock:
        idx = resolve_target(model, raw, target)
        start = time.perf_counter()
        result = explainer.explain(model, raw, idx, **params)
        seconds = time.perf_counter() - start
    return replace(result, seconds=seconds, model_name=model.info.name,
                   modality=model.info.modality)


def load_recorded_model(doc: dict[str, Any], device: str | None = None) -> tuple[Any, str]:
    """The report's model (built-in name, else its recorded path) and a note on its weights."""
    from models import list_models, load_model

    card = doc.get("model") or {}
    name, source = str(card.get("name", "")), str(card.get("source", ""))
    key = name if name in list_models() else source
    if not key:
        raise InputError("the report names no model")
    model = load_model(key, device=device)
    recorded, actual = card.get("sha256") or "", model.info.sha256 or ""
    if recorded and actual and recorded != actual:
        return model, f"weights differ: recorded sha256 {recorded[:12]}, found {actual[:12]}"
    return model, ""


def reproduce(path: str | Path, device: str | None = None, rtol: float = RTOL,
              atol: float = ATOL, model: Any = None) -> list[Check]:
    """Recompute each recorded attribution with its recorded model, input, params and seed.

    `model` overrides loading the recorded one (tests, or a model already in memory).
    """
    doc, arrays = read_document(path)
    weights_note = ""
    if model is None:
        model, weights_note = load_recorded_model(doc, device)
    raw = raw_from_record(doc["input"], arrays)
    checks = []
    for rec in doc.get("attributions", []):
        params = _as_tuples(dict(rec.get("params") or {}))
        seed = rec.get("seed")
        if seed is not None:
            params["seed"] = seed
        seed_everything(seed)
        target = int(rec["target"])
        if rec.get("modality") == "generation":  # the continuation, not a class index
            from explainers.report.generation import recorded_target

            target = recorded_target(model, rec)
        new = run_method(model, raw, rec["method"], target, params)
        diff, scale = _max_diff(values_of(rec["values"], arrays), new.values)
        tol = atol + rtol * scale
        ok = diff <= tol and not weights_note
        checks.append(Check(rec["method"], diff, tol, ok, weights_note))
    return checks

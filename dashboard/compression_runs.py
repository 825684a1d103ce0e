"""The Compression page's table: every run of this session on a model, one row per compressed copy."""
from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard import state
from explainers import compare_models as cm
from models import ModelAdapter


def table(rows: list[tuple[ModelAdapter, cm.Comparison]]) -> pd.DataFrame:
    """One run's rows: size, accuracy, agreement, latency and each method's drift."""
    recs = []
    for m, c in rows:
        rec = {"model": m.info.name, "sparsity": c.size["sparsity"], "accuracy": c.accuracy,
               "agreement": c.agreement, "size (KB)": c.size["bytes"] / 1024,
               "sparse size (KB)": c.size["sparse_bytes"] / 1024,
               "zlib size (KB)": c.size["zlib_bytes"] / 1024, "latency ratio": c.latency_ratio}
        for name, d in c.drift.items():
            via = "" if d.used_method == name else f" via {d.used_method}"
            rec[f"{name}{via} rho"] = d.spearman
            rec[f"{name}{via} top-k"] = d.topk_overlap
        recs.append(rec)
    return pd.DataFrame(recs)


def operation(settings: dict[str, Any]) -> str:
    """A short label of what a run did, e.g. 'prune unstructured/global' or 'quantize int8'."""
    if settings["op"] == "prune":
        return f"prune {settings['kind']}/{settings['scope']}"
    if settings["op"] == "quantize":
        return f"quantize {settings['mode']}"
    c = settings["config"]
    return f"distil width {c.width}, T {c.temperature:g}, alpha {c.alpha:g}"


def add(model_key: str, settings: dict[str, Any], res: dict[str, Any]) -> None:
    """Append one finished run's rows to this session's table for the model."""
    runs = dict(state.get(state.C_RUNS) or {})
    mine = list(runs.get(model_key, []))
    n = 1 + max((r["run"] for r in mine), default=0)
    frame = table(res["rows"])
    frame.insert(0, "operation", operation(settings))
    frame.insert(0, "run", n)
    mine.extend(frame.to_dict("records"))
    runs[model_key] = mine
    state.put(state.C_RUNS, runs)


def all_runs(model_key: str) -> pd.DataFrame:
    """Every run on the model this session, oldest first (drift columns: those any run had)."""
    return pd.DataFrame((state.get(state.C_RUNS) or {}).get(model_key, []))

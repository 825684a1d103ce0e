"""Data-set view helpers: sample predictions and class-level attribution summaries (cached)."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import explainers
from dashboard import cache
from dashboard.cache import Progress


@st.cache_data(show_spinner=False, max_entries=32)
def sample_table(model_name: str, n: int, _progress: Progress | None = None) -> pd.DataFrame:
    """One row per bundled sample: true class, predicted class, confidence, correct."""
    model = cache.get_model(model_name)
    names = model.info.class_names
    rows = []
    samples = cache.get_samples(model_name, n)
    for i, (raw, y) in enumerate(samples):
        probs = model.predict(raw)
        pred = int(np.argmax(probs))
        rows.append({"sample": i, "true": names[y], "predicted": names[pred],
                     "confidence": float(probs[pred]), "correct": pred == y})
        if _progress is not None:
            _progress(i + 1, len(samples))
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False, max_entries=32)
def class_summary(model_name: str, method: str, per_class: int, n: int,
                  _progress: Progress | None = None) -> dict[str, Any]:
    """Per true class: mean map (images), mean score per token (text), mean |attr| (tabular)."""
    model = cache.get_model(model_name)
    chosen: dict[int, list[Any]] = defaultdict(list)
    for raw, y in cache.get_samples(model_name, n):
        if len(chosen[y]) < per_class:
            chosen[y].append(raw)
    total = sum(len(v) for v in chosen.values())
    sums: dict[int, Any] = {}
    token_scores: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    done = 0
    for y, raws in sorted(chosen.items()):
        for raw in raws:
            a = explainers.explain(model, raw, method, target=y)
            values = np.asarray(a.values, float)
            if a.kind == "tokens":
                for tok, v in zip(a.units, values, strict=True):
                    token_scores[y][tok].append(float(v))
            else:
                add = np.abs(values) if a.kind == "features" else values
                sums[y] = sums.get(y, 0) + add
            done += 1
            if _progress is not None:
                _progress(done, total)
    names = model.info.class_names
    if token_scores:
        return {"kind": "tokens", "classes": {names[y]: {t: float(np.mean(v)) for t, v in d.items()}
                                              for y, d in token_scores.items()}}
    means = {names[y]: (s / len(chosen[y])).tolist() for y, s in sums.items()}
    kind = "image" if model.info.modality == "image" else "features"
    return {"kind": kind, "classes": means, "units": list(model.info.feature_names)}


def summary_figure(summary: dict[str, Any], k: int = 10) -> go.Figure:
    """Small multiples: class mean maps, top tokens per class, or mean |attr| per feature."""
    from plotly.subplots import make_subplots

    classes = summary["classes"]
    if summary["kind"] == "features":
        fig = go.Figure([go.Bar(name=c, x=summary["units"], y=v) for c, v in classes.items()])
        fig.update_layout(title="mean |attribution| per feature, by true class", barmode="group")
        return fig
    cols = min(5, len(classes))
    rows = -(-len(classes) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(classes))
    for i, (_, v) in enumerate(classes.items()):
        r, c = i // cols + 1, i % cols + 1
        if summary["kind"] == "image":
            z = np.asarray(v)
            lim = float(np.abs(z).max()) or 1.0
            fig.add_trace(go.Heatmap(z=z, colorscale="RdBu_r", zmin=-lim, zmax=lim,
                                     showscale=False), row=r, col=c)
            fig.update_yaxes(autorange="reversed", row=r, col=c)
        else:
            top = sorted(v.items(), key=lambda kv: -kv[1])[:k][::-1]
            fig.add_trace(go.Bar(x=[s for _, s in top], y=[t for t, _ in top], orientation="h",
                                 showlegend=False), row=r, col=c)
    fig.update_layout(title="class summaries", height=260 * rows, showlegend=False)
    return fig

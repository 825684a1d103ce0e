"""Comparison and summary plots: method agreement, class probabilities, modality shares."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from explainers.plots._common import DIVERGING, MARGIN, esc, unique_labels
from models.errors import InputError


def agreement_matrix(matrix: np.ndarray, names: Sequence[str], title: str = "") -> go.Figure:
    """Annotated method x method heatmap (Spearman in [-1, 1] or top-k overlap in [0, 1])."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(names):
        raise InputError(f"agreement matrix {m.shape} does not match {len(names)} names")
    labels = unique_labels(names)
    signed = bool(np.nanmin(m) < 0) if m.size else False
    scale = {"colorscale": DIVERGING, "zmin": -1.0, "zmax": 1.0, "zmid": 0.0} if signed else \
        {"colorscale": "Blues", "zmin": 0.0, "zmax": 1.0}
    fig = go.Figure(go.Heatmap(z=m, x=labels, y=labels, texttemplate="%{z:.2f}",
                               hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>", **scale))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    size = max(300, 120 + 60 * len(labels))
    fig.update_layout(title=esc(title), margin=MARGIN, height=size)
    return fig


def probabilities_bar(probs: np.ndarray, class_names: Sequence[str], k: int = 5) -> go.Figure:
    """The k most probable classes as horizontal bars, the most probable on top."""
    p = np.asarray(probs, dtype=float).ravel()
    if len(class_names) != p.shape[0]:
        raise InputError(f"{p.shape[0]} probabilities for {len(class_names)} class names")
    labels = unique_labels(class_names)
    order = np.argsort(-p, kind="stable")[: max(int(k), 1)][::-1]
    fig = go.Figure(go.Bar(x=p[order], y=[labels[i] for i in order], orientation="h",
                           texttemplate="%{x:.1%}", textposition="auto",
                           marker_color="#1f77b4",
                           hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], tickformat=".0%", automargin=True)
    fig.update_yaxes(type="category", automargin=True)
    # room at the right for the "100%" tick label and below for the axis (both were cut)
    fig.update_layout(title="prediction", margin={**MARGIN, "r": 36, "b": 30},
                      height=max(200, 90 + 28 * len(order)))
    return fig


def modality_share(shares: Mapping[str, float]) -> go.Figure:
    """Share of total |attribution| per modality (fusion models)."""
    if not shares:
        raise InputError("modality_share needs at least one modality")
    names = [esc(k) for k in shares]
    vals = [float(v) for v in shares.values()]
    fig = go.Figure(go.Bar(x=names, y=vals, texttemplate="%{y:.1%}", marker_color="#7f7f7f",
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_yaxes(range=[0, max(1.0, max(vals))], tickformat=".0%")
    fig.update_layout(title="share of |attribution| by modality", margin=MARGIN, height=300)
    return fig

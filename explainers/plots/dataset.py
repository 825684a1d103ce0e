"""Data-set plots from a job's metrics and summaries: confusion matrix, calibration, per-class."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explainers.plots._common import MARGIN, NEG, POS, esc, unique_labels
from models.errors import InputError

PER_CLASS_METRICS = ("precision", "recall", "f1")


def _square(cm: Any, class_names: Sequence[str]) -> np.ndarray:
    m = np.asarray(cm, dtype=float)
    n = len(class_names)
    if m.shape != (n, n):
        raise InputError(f"confusion matrix of shape {m.shape} does not match {n} class names")
    return m


def cell_of(point_index: int, n_classes: int) -> tuple[int, int]:
    """(true, predicted) of a point of confusion_matrix's click layer (row-major order)."""
    if not 0 <= int(point_index) < n_classes * n_classes:
        raise InputError(f"cell {point_index} is outside a {n_classes}x{n_classes} matrix")
    return divmod(int(point_index), n_classes)


CLICK_TITLE = "confusion matrix (click a cell to list its inputs)"


def confusion_matrix(cm: Any, class_names: Sequence[str], normalize: bool = False,
                     selected: tuple[int, int] | None = None,
                     title: str = "confusion matrix") -> go.Figure:
    """Counts heatmap (rows = true, columns = predicted; row-normalised colours on request).

    Plotly heatmaps send no selection events, so an invisible square marker sits on every cell
    (trace 1, row-major, customdata = [true, predicted, count]): a click selects that cell.
    """
    m = _square(cm, class_names)
    n = len(class_names)
    labels = unique_labels(class_names)
    rows = m.sum(axis=1, keepdims=True)
    colour = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0) if normalize else m
    text = [[f"{int(v)}" for v in row] for row in m]
    fig = go.Figure(go.Heatmap(
        z=colour, x=labels, y=labels, text=text, texttemplate="%{text}", colorscale="Blues",
        hoverinfo="skip", showscale=False))
    t, p = np.divmod(np.arange(n * n), n)
    custom = np.stack([t, p, m.ravel()], axis=1).tolist()  # plain lists: clients index them
    size = max(8, min(60, int(420 / n)))
    fig.add_trace(go.Scatter(
        x=[labels[i] for i in p], y=[labels[i] for i in t], mode="markers", customdata=custom,
        marker={"symbol": "square", "size": size, "color": "#000", "opacity": 0.01},
        selected={"marker": {"opacity": 0.25}}, unselected={"marker": {"opacity": 0.01}},
        hovertemplate="true %{y} · predicted %{x}: %{customdata[2]:.0f}<extra></extra>",
        showlegend=False, name="cells"))
    if selected is not None:
        fig.data[1].selectedpoints = [selected[0] * n + selected[1]]
    fig.update_xaxes(type="category", title="predicted", side="bottom")
    fig.update_yaxes(type="category", title="true", autorange="reversed")
    side = max(320, 140 + 36 * n)
    fig.update_layout(title=esc(title), margin=MARGIN,
                      height=side, clickmode="event+select", dragmode=False)
    return fig


def reliability_diagram(calibration: Mapping[str, Any]) -> go.Figure:
    """Accuracy vs mean confidence per confidence bin, the diagonal, and counts per bin."""
    bins = [b for b in calibration.get("bins", []) if b.get("count")]
    if not bins:
        raise InputError("the calibration has no non-empty bins")
    mid = [(b["lo"] + b["hi"]) / 2 for b in bins]
    width = [b["hi"] - b["lo"] for b in bins]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25],
                        vertical_spacing=0.06)
    fig.add_trace(go.Bar(x=mid, y=[b["accuracy"] for b in bins], width=width, name="accuracy",
                         marker_color="#1f77b4", customdata=[b["count"] for b in bins],
                         hovertemplate="confidence %{x:.2f}: accuracy %{y:.3f} "
                                       "(%{customdata} inputs)<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=mid, y=[b["confidence"] for b in bins], mode="markers",
                             name="mean confidence", marker_color=POS), row=1, col=1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                             line={"dash": "dash", "color": "#888"}), row=1, col=1)
    fig.add_trace(go.Bar(x=mid, y=[b["count"] for b in bins], width=width, name="inputs",
                         marker_color="#7f7f7f", showlegend=False), row=2, col=1)
    fig.update_yaxes(range=[0, 1], title="accuracy", row=1, col=1)
    fig.update_yaxes(title="inputs", row=2, col=1)
    fig.update_xaxes(range=[0, 1], title="confidence", row=2, col=1)
    ece = calibration.get("ece")
    title = "reliability diagram" + (f" · ECE {float(ece):.3f}" if ece is not None else "")
    fig.update_layout(title=title, margin=MARGIN, height=420, legend={"orientation": "h"})
    return fig


def per_class_bars(per_class: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Precision, recall and F1 per class as grouped bars (support in the hover)."""
    if not per_class:
        raise InputError("per_class has no classes")
    names = unique_labels(list(per_class))
    support = [float(v.get("support", 0)) for v in per_class.values()]
    fig = go.Figure([go.Bar(name=k, x=names, y=[float(v[k]) for v in per_class.values()],
                            customdata=support,
                            hovertemplate="%{x}: " + k + " %{y:.3f} (support %{customdata:.0f})"
                                          "<extra></extra>")
                     for k in PER_CLASS_METRICS])
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.05])
    fig.update_layout(title="precision, recall and F1 per class", barmode="group",
                      margin=MARGIN, height=340, legend={"orientation": "h"})
    return fig


def class_mean_maps(maps: Mapping[str, Any], title: str = "mean attribution per class",
                    cols: int = 5) -> go.Figure:
    """Small multiples: one signed mean map per class, a shared symmetric colour scale."""
    if not maps:
        raise InputError("no class mean maps to draw")
    arrays = {k: np.asarray(v, dtype=float) for k, v in maps.items()}
    bad = [k for k, v in arrays.items() if v.ndim != 2]
    if bad:
        raise InputError(f"class mean map {bad[0]!r} is not 2-D")
    lim = max(float(np.nanmax(np.abs(v))) if v.size else 0.0 for v in arrays.values()) or 1.0
    cols = max(1, min(cols, len(arrays)))
    rows = -(-len(arrays) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=unique_labels(list(arrays)),
                        horizontal_spacing=0.02, vertical_spacing=0.08)
    for i, z in enumerate(arrays.values()):
        r, c = i // cols + 1, i % cols + 1
        fig.add_trace(go.Heatmap(z=z, colorscale="RdBu_r", zmin=-lim, zmax=lim, zmid=0,
                                 showscale=i == 0, hovertemplate="%{z:.3g}<extra></extra>"),
                      row=r, col=c)
        fig.update_yaxes(autorange="reversed", visible=False, scaleanchor=f"x{i + 1}" if i else "x",
                         row=r, col=c)
        fig.update_xaxes(visible=False, row=r, col=c)
    fig.update_layout(title=esc(title), margin=MARGIN, height=60 + 190 * rows)
    return fig


def units_bar(pairs: Sequence[tuple[str, float]], title: str, k: int = 15) -> go.Figure:
    """Horizontal bars for (unit, score) pairs, the largest |score| on top."""
    pairs = sorted(((str(u), float(s)) for u, s in pairs), key=lambda us: -abs(us[1]))[:k]
    if not pairs:
        raise InputError("no units to draw")
    pairs = pairs[::-1]  # plotly draws the first category at the bottom
    labels = unique_labels([u for u, _ in pairs])
    fig = go.Figure(go.Bar(x=[s for _, s in pairs], y=labels, orientation="h",
                           marker_color=[POS if s >= 0 else NEG for _, s in pairs],
                           hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
    fig.update_yaxes(type="category")
    fig.update_layout(title=esc(title), margin=MARGIN, height=max(220, 60 + 22 * len(pairs)))
    return fig


def top_units_per_class(top: Mapping[str, Sequence[tuple[str, float]]], k: int = 8,
                        cols: int = 3) -> go.Figure:
    """Small multiples: the top tokens/features of each class."""
    if not top:
        raise InputError("no per-class units to draw")
    cols = max(1, min(cols, len(top)))
    rows = -(-len(top) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=unique_labels(list(top)),
                        horizontal_spacing=0.12)
    for i, pairs in enumerate(top.values()):
        chosen = sorted(((str(u), float(s)) for u, s in pairs), key=lambda us: -abs(us[1]))[:k]
        chosen = chosen[::-1]
        fig.add_trace(go.Bar(x=[s for _, s in chosen], y=unique_labels([u for u, _ in chosen]),
                             orientation="h", showlegend=False,
                             marker_color=[POS if s >= 0 else NEG for _, s in chosen],
                             hovertemplate="%{y}: %{x:.4g}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(title="top units per class", margin=MARGIN, height=80 + 30 * k * rows)
    return fig

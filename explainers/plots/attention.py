"""Attention plots: the layers x heads grid, one token x token matrix, attention from one token."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explainers.plots._common import MARGIN, esc
from models.errors import InputError

SCALE = "Blues"


def _labels(tokens: Sequence[str], n: int) -> list[str]:
    """'i:token' labels (escaped): unique even when a token repeats."""
    if len(tokens) != n:
        raise InputError(f"{len(tokens)} tokens for an attention matrix of size {n}")
    return [f"{i}:{esc(t)}" for i, t in enumerate(tokens)]


def _square(attn2d: np.ndarray) -> np.ndarray:
    m = np.asarray(attn2d, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise InputError(f"attention matrix must be [T, T], got shape {m.shape}")
    return m


def attention_matrix(attn2d: np.ndarray, tokens: Sequence[str], title: str = "") -> go.Figure:
    """Token x token heatmap (rows attend to columns); hover names both tokens."""
    m = _square(attn2d)
    labels = _labels(tokens, m.shape[0])
    fig = go.Figure(go.Heatmap(
        z=m, x=labels, y=labels, colorscale=SCALE, zmin=0.0, zmax=float(max(m.max(), 1e-12)),
        hovertemplate="%{y} → %{x}: %{z:.3f}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-60)
    size = max(320, 120 + 22 * m.shape[0])
    fig.update_layout(title=esc(title), margin=MARGIN, height=size,
                      xaxis_title="attends to", yaxis_title="token")
    return fig


def attention_grid(attn: np.ndarray, tokens: Sequence[str], max_layers: int | None = None,
                   max_heads: int | None = None) -> go.Figure:
    """A layers (rows) x heads (columns) grid of small attention heatmaps."""
    from plotly.subplots import make_subplots

    a = np.asarray(attn, dtype=float)
    if a.ndim != 4 or a.shape[2] != a.shape[3]:
        raise InputError(f"attention must be [layers, heads, T, T], got shape {a.shape}")
    a = a[:max_layers, :max_heads]
    layers, heads, t = a.shape[0], a.shape[1], a.shape[2]
    labels = _labels(tokens, t)
    fig = make_subplots(rows=layers, cols=heads, horizontal_spacing=0.004,
                        vertical_spacing=0.004 if layers > 1 else 0.0,
                        row_titles=[f"L{i}" for i in range(layers)],
                        column_titles=[f"H{j}" for j in range(heads)])
    for li in range(layers):
        for h in range(heads):
            fig.add_trace(go.Heatmap(
                z=a[li, h], x=labels, y=labels, colorscale=SCALE, zmin=0.0, zmax=1.0,
                showscale=False, name=f"L{li} H{h}",
                hovertemplate=f"layer {li} head {h}<br>%{{y}} → %{{x}}: %{{z:.3f}}<extra></extra>",
            ), row=li + 1, col=h + 1)
    fig.update_xaxes(visible=False, type="category")
    fig.update_yaxes(visible=False, type="category", autorange="reversed")
    fig.update_layout(title="attention: layers (rows) × heads (columns)", margin=MARGIN,
                      height=max(300, 70 * layers + 80))
    return fig


def attention_from_token(attn2d: np.ndarray, tokens: Sequence[str], index: int,
                         title: str = "") -> go.Figure:
    """Bars: how much token `index` attends to every token."""
    m = _square(attn2d)
    labels = _labels(tokens, m.shape[0])
    if not -m.shape[0] <= int(index) < m.shape[0]:
        raise InputError(f"token index {index} is out of range 0..{m.shape[0] - 1}")
    row = m[int(index)]
    fig = go.Figure(go.Bar(x=labels, y=row, marker_color="#1f77b4",
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_xaxes(type="category", tickangle=-60)
    fig.update_layout(title=esc(title or f"attention from {labels[int(index)]}"), margin=MARGIN,
                      yaxis_title="attention", height=340)
    return fig

"""Token and feature plots: highlighted text (escaped HTML) and the top units as bars."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainers.base import Attribution
from explainers.plots._common import (
    MARGIN,
    NEG,
    POS,
    esc,
    title_of,
    top_order,
    unique_labels,
    unit_values,
)

RED, BLUE = "214,39,40", "31,119,180"


def token_highlight(a: Attribution) -> str:
    """Escaped HTML: each token on a red (positive) / blue (negative) background, alpha ~ |score|."""
    values, tokens = unit_values(a)
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    top = top or 1.0
    spans = []
    for tok, v in zip(tokens, values, strict=True):
        alpha = min(abs(float(v)) / top, 1.0) if np.isfinite(v) else 0.0
        rgb = RED if v >= 0 else BLUE
        spans.append(
            f'<span class="gb-token" title="{esc(tok)}: {float(v):.4g}" '
            f'style="background:rgba({rgb},{alpha:.3f});padding:1px 3px;margin:1px;'
            f'border-radius:3px;white-space:pre">{esc(tok)}</span>'
        )
    head = f'<div class="gb-tokens" title="{title_of(a)}" style="line-height:2.1">'
    return head + " ".join(spans) + "</div>"


def top_units_bar(a: Attribution, k: int = 15) -> go.Figure:
    """Horizontal bars of the k units with the largest |score|, largest on top."""
    values, units = unit_values(a)
    labels = unique_labels(units)
    order = top_order(values, k)[::-1]  # plotly draws the first category at the bottom
    fig = go.Figure(go.Bar(
        x=values[order], y=[labels[i] for i in order], orientation="h",
        marker_color=[POS if values[i] >= 0 else NEG for i in order],
        hovertemplate="%{y}: %{x:.4g}<extra></extra>",
    ))
    fig.update_layout(title=title_of(a, f"top {len(order)} by |attribution|"), margin=MARGIN,
                      height=max(220, 60 + 22 * len(order)), xaxis_title="attribution")
    fig.update_yaxes(type="category")
    return fig

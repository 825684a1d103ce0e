"""Plotly charts of trust scores: deletion/insertion curves and the sanity-check cascade."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

from explainers.metrics.faithfulness import FaithfulnessCurves
from explainers.metrics.sanity import Sanity

if TYPE_CHECKING:
    import plotly.graph_objects as go

DELETION, INSERTION = "#d62728", "#1f77b4"


def faithfulness_figure(c: FaithfulnessCurves, label: str = "", method: str = "") -> go.Figure:
    """Deletion and insertion curves (solid) beside their random-order references (dotted)."""
    import plotly.graph_objects as go

    x = [100 * f for f in c.fractions]
    traces = (
        ("deletion", c.deletion, DELETION, "solid", c.deletion_auc),
        ("random deletion", c.random_deletion, DELETION, "dot", c.random_deletion_auc),
        ("insertion", c.insertion, INSERTION, "solid", c.insertion_auc),
        ("random insertion", c.random_insertion, INSERTION, "dot", c.random_insertion_auc),
    )
    fig = go.Figure()
    for name, y, colour, dash, area in traces:
        fig.add_trace(go.Scatter(
            x=x, y=list(map(float, y)), mode="lines+markers", name=f"{name} (AUC {area:.3f})",
            line={"color": colour, "dash": dash}, marker={"size": 4},
        ))
    what = f"'{html.escape(label)}'" if label else "target"
    title = f"{html.escape(method)}: " if method else ""
    fig.update_layout(
        # two short lines: one long line is cut off in a half-width chart
        title=f"{title}p({what})<br><sup>as the most important {c.unit} are removed / added</sup>",
        xaxis_title=f"% of {c.unit} removed (deletion) or added (insertion)",
        yaxis_title="probability", yaxis_range=[0, 1.02], template="plotly_white",
        legend={"orientation": "h", "y": -0.25}, margin={"t": 70, "b": 40},
    )
    return fig


def sanity_figure(s: Sanity) -> go.Figure:
    """Rank correlation with the trained model's map as layers are randomised from the top."""
    import plotly.graph_objects as go

    steps = [f"{i + 1}. …{html.escape(n)}" for i, n in enumerate(s.steps)]
    fig = go.Figure([go.Scatter(
        x=["trained", *steps], y=[1.0, *map(float, rhos)], mode="lines+markers",
        name=f"{variant} maps", line={"color": DELETION if variant in s.failed else INSERTION,
                                      "dash": "solid" if variant == "signed" else "dot"},
    ) for variant, rhos in s.variants.items()])
    fig.add_hline(y=s.threshold, line_dash="dot", annotation_text=f"threshold {s.threshold:g}")
    verdict = "passed" if s.passed else f"FAILED ({' and '.join(s.failed)})"
    fig.update_layout(
        title=f"{html.escape(s.method)} sanity check: {verdict}",
        xaxis_title="randomised down to layer", yaxis_title="rank correlation",
        yaxis_range=[-1.05, 1.05], template="plotly_white", margin={"t": 60, "b": 40},
    )
    return fig

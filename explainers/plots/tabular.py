"""Feature plots in the style of SHAP: waterfall, bar, and the data-set beeswarm."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explainers.base import Attribution
from explainers.plots._common import MARGIN, NEG, POS, esc, title_of, top_order, unit_values
from explainers.plots.tokens import top_units_bar
from models.errors import InputError


def _fmt(v: Any) -> str:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return f"{float(v):.4g}"
    return str(v)


def _feature_values(a: Attribution, units: tuple[str, ...], given: Any) -> list[Any] | None:
    """Feature values aligned with units, from the argument or a.extras['feature_values']."""
    given = a.extras.get("feature_values") if given is None else given
    if given is None:
        return None
    if isinstance(given, Mapping):
        return [given.get(u) for u in units]
    seq = list(np.asarray(given).ravel()) if not isinstance(given, Sequence) else list(given)
    if len(seq) != len(units):
        raise InputError(f"feature_values has {len(seq)} entries; the model has {len(units)}")
    return seq


GAP_TOL = 1e-6  # |f(x) - (start + sum)| below this (relative) is rounding, not a gap


def waterfall_ends(a: Attribution, values: np.ndarray) -> tuple[float, str, float, float]:
    """(start, its label, end, gap): the chart starts at the base value the method reports
    (f(baseline), or E[f(X)] over a background), else at f(x) - sum(attributions); it ends
    at the real model output f(x) (a.output). gap = f(x) - (start + sum) is what the
    attributions leave unexplained (completeness not met): a step of its own, so the bars
    reach f(x) instead of a number that is not the model's."""
    total = float(values.sum())
    end = float(a.output) if a.output is not None else (a.base_value or 0.0) + total
    if a.base_value is not None:
        start, label = float(a.base_value), "base value"
    else:
        start, label = end - total, "f(x) − Σ attributions"
    gap = end - (start + total)
    return start, label, end, gap if abs(gap) > GAP_TOL * max(1.0, abs(end)) else 0.0


def waterfall(a: Attribution, max_display: int = 12, feature_values: Any = None) -> go.Figure:
    """From the start value through each feature's contribution to the model output f(x);
    the rest grouped; any part of f(x) the attributions miss is a step of its own."""
    values, units = unit_values(a)
    fvals = _feature_values(a, units, feature_values)
    order = list(top_order(values, max(max_display - 1, 1) if len(values) > max_display
                           else max_display))
    labels = [esc(units[i]) if fvals is None or fvals[i] is None
              else f"{esc(_fmt(fvals[i]))} = {esc(units[i])}" for i in order]
    steps = [float(values[i]) for i in order]
    rest = [i for i in range(len(values)) if i not in set(order)]
    if rest:
        labels.append(f"{len(rest)} other features")
        steps.append(float(values[rest].sum()))
    base, start_name, end, gap = waterfall_ends(a, values)
    if gap:
        labels.append("not attributed (completeness gap)")
        steps.append(gap)
    fig = go.Figure(go.Waterfall(
        orientation="h", base=base, x=steps[::-1], y=labels[::-1], measure=["relative"] * len(steps),
        increasing={"marker": {"color": POS}}, decreasing={"marker": {"color": NEG}},
        connector={"line": {"color": "#999", "width": 1}},
        hovertemplate="%{y}: %{x:+.4g}<extra></extra>", textposition="none",
    ))
    # labels above the plot area, one row each: inside it they covered the top bar, below it
    # the ticks
    for row, (x, name) in enumerate(((base, f"{start_name} = {base:.4g}"),
                                     (end, f"f(x) = {end:.4g}"))):
        fig.add_vline(x=x, line_dash="dot", line_color="#666")
        fig.add_annotation(x=x, y=1.0, yref="paper", yanchor="bottom", yshift=2 + 16 * row,
                           text=esc(name), showarrow=False, font={"size": 11})
    fig.update_layout(title=title_of(a, "waterfall"), margin={**MARGIN, "t": 90},
                      height=max(260, 90 + 26 * len(steps)), xaxis_title="model output (logit)",
                      showlegend=False)
    fig.update_yaxes(type="category")
    return fig


def bar(a: Attribution, max_display: int = 12) -> go.Figure:
    """Bar chart of the feature contributions (largest |value| on top)."""
    return top_units_bar(a, max_display)


def _matrix(data: Any) -> tuple[np.ndarray, tuple[str, ...] | None]:
    if isinstance(data, Sequence) and data and isinstance(data[0], Attribution):
        rows = [unit_values(a) for a in data]
        return np.stack([r[0] for r in rows]), rows[0][1]
    m = np.asarray(data, dtype=float)
    if m.ndim != 2:
        raise InputError(f"beeswarm needs attributions or a matrix [n, F], got shape {m.shape}")
    return m, None


def _normalise(col: np.ndarray) -> np.ndarray:
    """Feature values to 0..1 within the column (robust to outliers: 5th..95th percentile)."""
    lo, hi = np.nanpercentile(col, 5), np.nanpercentile(col, 95)
    return np.clip((col - lo) / (hi - lo), 0, 1) if hi > lo else np.full_like(col, 0.5)


def beeswarm(data: Any, feature_values: Any = None, feature_names: Sequence[str] | None = None,
             max_display: int = 12, seed: int = 0) -> go.Figure:
    """One row per feature (by mean |attribution|), a dot per sample coloured by feature value."""
    m, names = _matrix(data)
    names = tuple(feature_names) if feature_names is not None else names
    names = names or tuple(f"feature {j}" for j in range(m.shape[1]))
    if len(names) != m.shape[1]:
        raise InputError(f"{len(names)} feature names for {m.shape[1]} columns")
    fv = None if feature_values is None else np.asarray(feature_values, dtype=float)
    if fv is not None and fv.shape != m.shape:
        raise InputError(f"feature_values shape {fv.shape} differs from attributions {m.shape}")
    order = np.argsort(-np.abs(m).mean(axis=0), kind="stable")[:max_display][::-1]
    jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, size=m.shape[0])
    xs, ys, cs, texts = [], [], [], []
    for row, j in enumerate(order):
        xs.append(m[:, j])
        ys.append(row + jitter)
        cs.append(_normalise(fv[:, j]) if fv is not None else np.full(m.shape[0], 0.5))
        texts += [esc(names[j])] * m.shape[0]
    marker = {"color": np.concatenate(cs), "colorscale": [[0, NEG], [1, POS]], "cmin": 0,
              "cmax": 1, "size": 5, "opacity": 0.8}
    if fv is not None:
        marker["colorbar"] = {"title": "feature value", "tickvals": [0, 1],
                              "ticktext": ["low", "high"]}
    fig = go.Figure(go.Scatter(x=np.concatenate(xs), y=np.concatenate(ys), mode="markers",
                                 marker=marker, text=texts,
                                 hovertemplate="%{text}: %{x:.4g}<extra></extra>"))
    fig.update_yaxes(tickvals=list(range(len(order))), ticktext=[esc(names[j]) for j in order])
    fig.add_vline(x=0, line_color="#999")
    fig.update_layout(title=f"attributions over {m.shape[0]} samples", margin=MARGIN,
                      height=max(260, 80 + 30 * len(order)), xaxis_title="attribution",
                      showlegend=False)
    return fig

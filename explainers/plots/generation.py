"""Generation plots: the prompt x continuation heatmap, one output token's row, the logit lens."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go

from explainers.base import Attribution
from explainers.plots._common import MARGIN, color_kwargs, esc
from explainers.plots.tokens import token_highlight
from models.errors import InputError

ROW_LINE = "#111111"  # outline of the selected continuation token's row


def _indexed(tokens: Sequence[str]) -> list[str]:
    """'i:token' labels (escaped; unique even when a token repeats, so plotly keeps every row)."""
    return [f"{i}:{esc(t)}" for i, t in enumerate(tokens)]


def token_matrix(a: Attribution) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """extras["token_attr"] [n_out, n_prompt], the continuation's tokens and the prompt's tokens,
    checked against each other (InputError naming the shapes when they disagree)."""
    if "token_attr" not in a.extras:
        raise InputError(f"{a.method}: this result has no per-token attributions "
                         f"(extras['token_attr']); it is not a generation result")
    m = np.asarray(a.extras["token_attr"], dtype=float)
    out = tuple(str(t) for t in a.extras.get("output_tokens", ()))
    units = tuple(str(u) for u in a.units)
    if m.ndim != 2 or m.shape != (len(out), len(units)):
        raise InputError(f"{a.method}: token_attr has shape {m.shape}, expected "
                         f"[{len(out)} continuation tokens, {len(units)} prompt tokens]")
    return m, out, units


def generation_heatmap(a: Attribution, selected: int | None = None) -> go.Figure:
    """Rows = continuation tokens, columns = prompt tokens, colour = how much each prompt token
    drove each generated token (hover gives both tokens and the value); `selected` outlines a row."""
    m, out, units = token_matrix(a)
    ys, xs = _indexed(out), _indexed(units)
    fig = go.Figure(go.Heatmap(
        z=m, x=xs, y=ys, **color_kwargs(m), colorbar=dict(title="attribution", thickness=12),
        hovertemplate="generated %{y}<br>prompt %{x}<br>attribution %{z:.4g}<extra></extra>",
    ))
    if selected is not None:
        if not 0 <= int(selected) < len(out):
            raise InputError(f"continuation token {selected} is out of range 0..{len(out) - 1}")
        s = int(selected)
        fig.add_shape(type="rect", x0=-0.5, x1=len(units) - 0.5, y0=s - 0.5, y1=s + 0.5,
                      xref="x", yref="y", line=dict(color=ROW_LINE, width=3),
                      name=f"selected row {s}")
    fig.update_yaxes(autorange="reversed", type="category", title="generated token")
    fig.update_xaxes(type="category", tickangle=-50, title="prompt token")
    what = "prompt × continuation" + (f" · row {int(selected)}" if selected is not None else "")
    # the continuation is on the page above: the title names the method and the row only
    fig.update_layout(title=f"{esc(a.method)} · {what}", margin=dict(MARGIN, t=50),
                      height=max(300, 140 + 24 * len(out)))
    return fig


def token_row(a: Attribution, row: int) -> Attribution:
    """The result for one generated token: its row of token_attr as the per-prompt-token values."""
    m, out, _ = token_matrix(a)
    if not 0 <= int(row) < len(out):
        raise InputError(f"continuation token {row} is out of range 0..{len(out) - 1}")
    return replace(a, values=m[int(row)], target_label=out[int(row)])


def row_highlight(a: Attribution, row: int) -> str:
    """Escaped HTML: the prompt highlighted by what drove generated token `row`, tagged with it."""
    head = f'<div class="gb-row" data-row="{int(row)}">'
    return head + token_highlight(token_row(a, row)) + "</div>"


def generation_tokens(a: Attribution, n: int) -> tuple[str, ...]:
    """Labels for an attention matrix of size n: the prompt's tokens then the continuation's."""
    seq = tuple(str(u) for u in a.units) + tuple(str(t) for t in a.extras.get("output_tokens", ()))
    if n > len(seq):
        raise InputError(f"attention covers {n} positions; prompt + continuation have {len(seq)}")
    return seq[:n]


def logit_lens_heatmap(tokens: np.ndarray, probs: np.ndarray, positions: Sequence[str],
                       layers: Sequence[str] | None = None, title: str = "logit lens"
                       ) -> go.Figure:
    """Rows = layers, columns = positions; each cell names the most likely next token read out
    at that layer (colour = its probability); hover lists the top k."""
    toks = np.asarray(tokens, dtype=object)
    p = np.asarray(probs, dtype=float)
    if toks.ndim == 2:
        toks, p = toks[..., None], p[..., None]
    if toks.ndim != 3 or toks.shape != p.shape or toks.shape[1] != len(positions):
        raise InputError(f"logit lens needs tokens and probs [layers, {len(positions)}, k] of one "
                         f"shape; got {toks.shape} and {p.shape}")
    n_layers = toks.shape[0]
    layers = list(layers) if layers is not None else [f"L{i}" for i in range(n_layers)]
    top = np.vectorize(lambda t: esc(t))(toks[..., 0])
    hover = [[("<br>".join(f"{esc(t)}: {q:.1%}" for t, q in zip(toks[i, j], p[i, j],
                                                                    strict=True)))
              for j in range(toks.shape[1])] for i in range(n_layers)]
    fig = go.Figure(go.Heatmap(
        z=p[..., 0], x=_indexed(positions), y=[esc(x) for x in layers], text=top,
        texttemplate="%{text}", textfont=dict(size=12), customdata=hover, colorscale="Blues",
        zmin=0.0, zmax=1.0,
        colorbar=dict(title="p(top)", thickness=12),
        hovertemplate="%{y} · after %{x}<br>%{customdata}<extra></extra>",
    ))
    fig.update_xaxes(type="category", tickangle=-50, title="position (next token after it)")
    fig.update_yaxes(type="category", title="layer")
    fig.update_layout(title=esc(title), margin=dict(MARGIN, t=50),
                      height=max(300, 140 + 40 * n_layers))
    return fig

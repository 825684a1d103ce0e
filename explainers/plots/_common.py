"""Shared helpers for the plot functions: escaping, colour scales, value extraction, layout."""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explainers.base import Attribution
from models.errors import InputError

DIVERGING = "RdBu_r"  # RdBu reversed: positive = red, negative = blue, white at 0
SEQUENTIAL = "Viridis"
POS, NEG = "#d62728", "#1f77b4"
MARGIN = dict(l=10, r=10, t=40, b=10)


def esc(text: Any) -> str:
    """HTML-escape any user-derived string (tokens, feature and class names, titles).

    Quotes become numeric references (&#34;), which plotly.js decodes in labels; it shows the
    named &quot; literally (a '"' token read as '&quot;' in the bar charts)."""
    return html.escape(str(text), quote=True).replace("&quot;", "&#34;")


def is_signed(values: np.ndarray) -> bool:
    """True when the map has negative values (so it needs a diverging scale)."""
    finite = values[np.isfinite(values)]
    return bool(finite.size and finite.min() < 0)


CLIP_PERCENTILE = 99.5  # colour limit for large maps; the z data and hover keep every value
CLIP_MIN_SIZE = 10_000  # maps smaller than this (MNIST, tables, tokens) use their true max


def color_limit(values: np.ndarray) -> float:
    """The |value| at which the colour saturates: the max, or for large maps the 99.5th
    percentile, so a few extreme pixels (common with pixel-level IG) don't wash the map out."""
    finite = np.abs(values[np.isfinite(values)])
    if not finite.size:
        return 1.0
    top = float(finite.max())
    if finite.size >= CLIP_MIN_SIZE:
        top = float(np.percentile(finite, CLIP_PERCENTILE)) or top
    return top or 1.0


def color_kwargs(values: np.ndarray) -> dict[str, Any]:
    """Diverging RdBu centred at 0 with symmetric limits for signed maps; sequential otherwise."""
    top = color_limit(values)
    if is_signed(values):
        return {"colorscale": DIVERGING, "zmin": -top, "zmax": top, "zmid": 0.0}
    return {"colorscale": SEQUENTIAL, "zmin": 0.0, "zmax": top}


def overlay_colorscale(signed: bool) -> list[list[Any]]:
    """The overlay's scale: like the raw map's, but transparent where the score is ~0 so the
    picture shows through (RdBu reversed for signed maps, YlOrRd for unsigned ones)."""
    import plotly.colors as pc

    colors = pc.diverging.RdBu[::-1] if signed else pc.sequential.YlOrRd
    n = len(colors) - 1
    scale = []
    for i, c in enumerate(colors):
        t = i / n
        alpha = min(1.0, abs(2 * t - 1) * 1.25) if signed else min(1.0, t * 1.25)
        r, g, b = pc.unlabel_rgb(c)
        scale.append([t, f"rgba({r:.0f},{g:.0f},{b:.0f},{alpha:.3f})"])
    return scale


def image_values(a: Attribution) -> np.ndarray:
    """The [H, W] map of an image or fusion attribution."""
    values = a.values["image"] if isinstance(a.values, dict) else a.values
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise InputError(f"{a.method}: an image plot needs [H, W] values, got shape {values.shape}")
    return values


def unit_values(a: Attribution) -> tuple[np.ndarray, tuple[str, ...]]:
    """The 1-D scores and their units (tokens/features; the text part of a fusion result)."""
    if isinstance(a.values, dict):
        if "text" not in a.values:
            raise InputError(f"{a.method}: this fusion result has no text part")
        units = a.units.get("text", ()) if isinstance(a.units, dict) else ()
        return np.asarray(a.values["text"], dtype=float), tuple(str(u) for u in units)
    values = np.asarray(a.values, dtype=float)
    if values.ndim != 1:
        raise InputError(f"{a.method}: a unit plot needs 1-D values, got shape {values.shape}")
    return values, tuple(str(u) for u in a.units)


def unique_labels(names: Sequence[str]) -> list[str]:
    """Escaped labels; repeated names (the same token twice) get their position appended."""
    names = [str(n) for n in names]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [esc(n) if seen[n] == 1 else f"{esc(n)} #{i}" for i, n in enumerate(names)]


def title_of(a: Attribution, what: str = "") -> str:
    """'method · target label' (escaped), with an optional suffix."""
    base = f"{esc(a.method)} · {esc(a.target_label)}"
    return f"{base} · {esc(what)}" if what else base


def image_axes(fig: go.Figure) -> go.Figure:
    """Pixel axes: y downwards, square pixels, no ticks."""
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, constrain="domain")
    return fig


def top_order(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest |values|, largest first (stable for ties)."""
    return np.argsort(-np.abs(values), kind="stable")[: max(int(k), 0)]

"""Image attribution plots: heatmap over the picture, and the raw map alone."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explainers.base import Attribution
from explainers.plots._common import (
    MARGIN,
    color_kwargs,
    image_axes,
    image_values,
    is_signed,
    overlay_colorscale,
    title_of,
)
from models.errors import InputError

HOVER = "x %{x:.0f}, y %{y:.0f}<br>attribution %{z:.4g}<extra></extra>"


def as_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] from gray/RGB/RGBA, uint8 or float 0..1."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (1, 3, 4):
        raise InputError(f"image must be [H, W] or [H, W, 1|3|4], got shape {img.shape}")
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    img = img[..., :3]
    if img.dtype != np.uint8:
        img = np.clip(img.astype(float) * (255.0 if img.max() <= 1.0 else 1.0), 0, 255)
        img = img.round().astype(np.uint8)
    return img


def heatmap_overlay(a: Attribution, image: np.ndarray, opacity: float = 0.5) -> go.Figure:
    """The picture with the attribution heatmap over it; hover shows each pixel's value.

    Scores near 0 are transparent (the picture shows through), strong ones opaque, scaled by
    `opacity`; a coarser map (e.g. 7 x 7) is stretched over the whole picture."""
    values = image_values(a)
    img = as_rgb(image)
    if not 0.0 <= float(opacity) <= 1.0:
        raise InputError(f"opacity must be within [0, 1], got {opacity!r}")
    h, w = img.shape[:2]
    dy, dx = h / values.shape[0], w / values.shape[1]  # stretch a coarser map over the image
    fig = go.Figure(go.Image(z=img, hoverinfo="skip", name="input"))
    scale = {**color_kwargs(values), "colorscale": overlay_colorscale(is_signed(values))}
    fig.add_trace(go.Heatmap(
        z=values, dx=dx, dy=dy, x0=(dx - 1) / 2, y0=(dy - 1) / 2, opacity=float(opacity),
        hovertemplate=HOVER, name="attribution", **scale,
    ))
    fig.update_layout(title=title_of(a), margin=MARGIN)
    return image_axes(fig)


def raw_map(a: Attribution) -> go.Figure:
    """The attribution map alone, same colour rules as the overlay."""
    values = image_values(a)
    fig = go.Figure(go.Heatmap(z=values, hovertemplate=HOVER, name="attribution",
                               **color_kwargs(values)))
    fig.update_layout(title=title_of(a, "raw map"), margin=MARGIN)
    return image_axes(fig)

"""Pictures for the data-set report's cards: each input's thumbnail and its maps as data: URIs."""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import InputError


def map_rgb(values: Any) -> np.ndarray:
    """A signed 2-D map as uint8 RGB: red positive, blue negative, white 0 (symmetric scale)."""
    z = np.nan_to_num(np.asarray(values, dtype=float))
    if z.ndim != 2:
        raise InputError(f"an attribution map must be 2-D, got shape {z.shape}")
    t = np.clip(z / (float(np.abs(z).max()) or 1.0), -1, 1)[..., None]
    white, red, blue = np.ones(3), np.array([0.84, 0.15, 0.16]), np.array([0.12, 0.47, 0.71])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return (rgb * 255).round().astype(np.uint8)


def png_uri(rgb: np.ndarray, size: int = 96) -> str:
    from PIL import Image

    im = Image.fromarray(rgb)
    scale = max(1, size // max(im.size))
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def card_pictures(out: Path, ids: list[str]) -> dict[str, dict[str, str]]:
    """For image jobs: {id: {"input": data URI, <method>: map data URI}} for the given ids."""
    from explainers import dataset
    from explainers.report.inputs import thumbnail_uri

    df = dataset.load(out)
    df = df[df["id"].astype(str).isin(ids)]
    methods = [c for c in df.columns if str(c).startswith("attr:")]
    pictures: dict[str, dict[str, str]] = {}
    for _, row in df.iterrows():
        maps = {col[5:]: png_uri(map_rgb(v)) for col in methods
                if (v := _image_part(row[col])) is not None}
        if maps:  # an image (or fusion) job: the picture first, then one map per method
            try:
                raw = dataset.raw_input(out, row["id"])
                image = raw.get("image") if isinstance(raw, dict) else raw
                pics = {"input": thumbnail_uri(image, 96)}
            except (InputError, OSError):  # the data moved since the job ran: the maps only
                pics = {}
            pictures[str(row["id"])] = {**pics, **maps}
    return pictures


def _image_part(values: Any) -> np.ndarray | None:
    """The 2-D map of an attribution cell (the image part of a fusion one), else None."""
    if isinstance(values, dict):
        values = values.get("image")
    if values is None:
        return None
    v = np.asarray(values, dtype=float)
    return v if v.ndim == 2 else None

"""Feature masks for perturbation methods: SLIC superpixels or a square grid (cached per image)."""
from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import torch

from explainers.bounded import MB, BoundedLRU
from models.base import HasImage, ModelAdapter
from models.errors import InputError

KINDS = ("slic", "grid")
_CACHE = BoundedLRU(max_entries=64, max_bytes=64 * MB, name="superpixels")  # labels per image


def picture(model: ModelAdapter, raw: Any, x: torch.Tensor) -> np.ndarray:
    """The image SLIC segments: display_image when the model has one, else x scaled to 0..1."""
    if isinstance(model, HasImage):
        return np.asarray(model.display_image(raw))
    arr = x[0].detach().float().cpu().permute(1, 2, 0).numpy()
    lo, hi = arr.min(), arr.max()
    return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def grid(h: int, w: int, n_segments: int) -> np.ndarray:
    """Square cells, about n_segments of them, labelled 0..S-1 row by row."""
    side = max(1, round(math.sqrt(h * w / max(1, n_segments))))
    rows, cols = np.arange(h) // side, np.arange(w) // side
    return (rows[:, None] * (cols.max() + 1) + cols[None, :]).astype(np.int64)


def slic(img: np.ndarray, n_segments: int, compactness: float) -> np.ndarray:
    """skimage SLIC labels 0..S-1 (start_label=0), channels last."""
    from skimage.segmentation import slic as sk_slic

    channel_axis = -1 if img.ndim == 3 else None
    labels = sk_slic(img, n_segments=n_segments, compactness=compactness, start_label=0,
                     channel_axis=channel_axis)
    _, inverse = np.unique(labels, return_inverse=True)  # make the labels contiguous
    return inverse.reshape(labels.shape).astype(np.int64)


def segments(model: ModelAdapter, raw: Any, x: torch.Tensor, kind: str, n_segments: int,
             compactness: float = 10.0) -> np.ndarray:
    """[H, W] integer labels (cached by image content and settings)."""
    if kind not in KINDS:
        raise InputError(f"feature_mask {kind!r} is not known; allowed: {list(KINDS)}")
    h, w = x.shape[-2:]
    if kind == "grid":
        return grid(h, w, n_segments)
    img = picture(model, raw, x)
    key = (hashlib.sha1(np.ascontiguousarray(img).tobytes()).hexdigest(), img.shape,
           n_segments, compactness)
    found = _CACHE.get(key)
    if found is not None:
        return found
    labels = slic(img.astype(np.float64) / (255.0 if img.dtype == np.uint8 else 1.0),
                  n_segments, compactness)
    if labels.shape != (h, w):
        raise InputError(f"display image {labels.shape} does not match the input size {(h, w)}")
    _CACHE.put(key, labels)
    return labels


def mask_tensor(labels: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """[1, 1, H, W] LongTensor on x's device; broadcasts over channels for Captum."""
    return torch.as_tensor(labels, device=x.device)[None, None]

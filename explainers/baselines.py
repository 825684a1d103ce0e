"""Baselines per modality (black/blur/noise/mean/custom, [PAD]/[MASK], mean/zero), backgrounds."""
from __future__ import annotations

import re
import weakref
from typing import Any

import numpy as np
import torch

from models.base import HasBaselines, HasEmbeddingLayer, HasWordIds, ModelAdapter
from models.errors import InputError

ALL_KINDS = ("auto", "black", "blur", "noise", "mean", "zero", "pad", "mask", "custom")
SPECIAL = re.compile(r"^(\[[A-Z]+\]|<[^>]+>)$")
_BACKGROUND: weakref.WeakKeyDictionary[torch.nn.Module, dict] = weakref.WeakKeyDictionary()


def kinds_for(model: ModelAdapter) -> tuple[str, ...]:
    """Baseline kinds this model offers, the default first."""
    modality = model.info.modality
    if modality == "text":
        return ("pad", "mask") if has_mask_token(model) else ("pad",)
    own = tuple(model.baseline_kinds) if isinstance(model, HasBaselines) else ()
    if modality == "fusion":  # the text half's baseline is always [PAD]
        return own or ("black",)
    fallback = ("black",) if modality == "image" else ("zero",)
    return (own or fallback) + ("custom",)


def has_mask_token(model: ModelAdapter) -> bool:
    return isinstance(model, HasEmbeddingLayer) and model.mask_token_id is not None



def resolve_kind(model: ModelAdapter, kind: str) -> str:
    """'auto' -> the model's default kind; anything else must be one the model offers."""
    kinds = kinds_for(model)
    if kind == "auto":
        return kinds[0]
    if kind not in kinds:
        raise InputError(
            f"baselines {kind!r} does not fit {model.info.name}; allowed: {list(kinds)}")
    return kind


def special_positions(model: ModelAdapter, raw: Any, n: int) -> list[bool]:
    """Which token positions are special ([CLS], [SEP], <s>...): kept in text baselines."""
    if isinstance(model, HasWordIds):
        ids = list(model.word_ids(raw))
        if len(ids) == n:
            return [w is None for w in ids]
    tokens = model.tokens(raw) if isinstance(model, HasEmbeddingLayer) else model.units(raw)
    return [bool(SPECIAL.match(str(t))) for t in tokens][:n] + [False] * (n - len(tokens))


def make_baseline(model: ModelAdapter, raw: Any, x: torch.Tensor, kind: str,
                  custom: Any = None) -> torch.Tensor:
    """A baseline of x's shape for a resolved kind (see resolve_kind)."""
    modality = model.info.modality
    if modality == "text":
        token = model.pad_token_id if kind == "pad" else model.mask_token_id
        keep = torch.tensor(special_positions(model, raw, x.shape[-1]), device=x.device)
        return torch.where(keep[None], x, torch.full_like(x, int(token)))
    if kind == "custom":
        return _custom(model, x, custom)
    if isinstance(model, HasBaselines) and kind in model.baseline_kinds:
        return model.baseline(x, kind).to(x.device, x.dtype)
    return torch.zeros_like(x)


def _custom(model: ModelAdapter, x: torch.Tensor, custom: Any) -> torch.Tensor:
    if custom is None:
        raise InputError("baselines 'custom' needs custom_baseline= (an image, array or row)")
    if isinstance(custom, torch.Tensor | np.ndarray) and tuple(custom.shape) == tuple(x.shape):
        return torch.as_tensor(np.asarray(custom.cpu() if isinstance(custom, torch.Tensor)
                                          else custom), dtype=x.dtype, device=x.device)
    b = model.preprocess(custom)
    b = b[0] if isinstance(b, tuple) else b
    if b.shape != x.shape:
        raise InputError(
            f"custom baseline has shape {tuple(b.shape)}; the input has {tuple(x.shape)}")
    return b.to(x.device, x.dtype)


def background(model: ModelAdapter, n: int, seed: int,
               x: torch.Tensor | None = None) -> torch.Tensor:
    """n training samples (HasBaselines.background), cached per model; else the default baseline."""
    cache = _BACKGROUND.setdefault(model.module, {})
    key = (n, seed)
    if key not in cache:
        if isinstance(model, HasBaselines):
            cache[key] = model.background(n, seed).to(model.device)
        elif x is not None:
            return torch.zeros_like(x)
        else:
            raise InputError(f"{model.info.name} has no training background; it needs HasBaselines")
    return cache[key]


def baseline_picture(model: ModelAdapter, raw: Any, kind: str) -> np.ndarray:
    """What an image baseline looks like: uint8 [H, W, 3] at the model's input resolution.

    The model's input tensor is taken as a per-channel affine map of the picture it sees
    (display_image): the map is fitted on this input by least squares and inverted on the
    baseline, so a black baseline shows black whatever the normalisation. When the input
    cannot pin the map down (a flat image) the baseline is min-max scaled instead."""
    from models.base import HasImage

    if not isinstance(model, HasImage) or model.info.modality not in ("image", "fusion"):
        raise InputError(f"{model.info.name} has no picture to show a baseline as")
    x = model.preprocess(raw)
    x = (x[0] if isinstance(x, tuple) else x).detach()
    b = make_baseline(model, raw, x, resolve_kind(model, kind))[0].float().cpu().numpy()
    shown = model.display_image(raw).astype(np.float64)  # [H, W, 3]
    seen = x[0].float().cpu().numpy()  # [C, H, W]
    if shown.shape[:2] != seen.shape[1:]:
        raise InputError(f"{model.info.name}: picture {shown.shape[:2]} and input "
                         f"{seen.shape[1:]} differ in size")
    out = np.empty((len(seen),) + seen.shape[1:])
    for c in range(len(seen)):
        d = shown[..., c] if len(seen) == 3 else shown.mean(axis=-1)
        out[c] = _invert(d.ravel(), seen[c].ravel(), b[c]).reshape(seen.shape[1:])
    pic = np.moveaxis(out, 0, -1)
    pic = np.repeat(pic, 3, axis=-1) if pic.shape[-1] == 1 else pic
    return np.clip(np.rint(pic), 0, 255).astype(np.uint8)


def _invert(shown: np.ndarray, seen: np.ndarray, base: np.ndarray) -> np.ndarray:
    """base in picture units (0..255) through the fit seen = a * shown + c."""
    if np.ptp(shown) > 0:
        a, c = np.polyfit(shown, seen, 1)
        if abs(a) > 1e-12 and np.allclose(a * shown + c, seen, atol=1e-3 * (np.ptp(seen) + 1)):
            return (base - c) / a
    span = float(np.ptp(base))
    return (base - base.min()) / span * 255 if span > 0 else np.zeros_like(base)

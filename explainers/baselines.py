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

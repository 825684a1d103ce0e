"""Wrap a compressed torch module into an adapter of the same kind as the original model."""
from __future__ import annotations

import copy
import hashlib
import io
import threading
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import ModelAdapter, freeze
from models.errors import InputError

# card fields that describe the original's measured quality; a compressed model has its own
_MEASURED = ("heldout_accuracy", "accuracy")


def state_bytes(module: nn.Module) -> bytes:
    """The module's state_dict as torch.save writes it (what a .pt file would hold)."""
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getvalue()


def count_parameters(module: nn.Module) -> int:
    """Number of weight values, counting int8-packed Linear weights too."""
    n = sum(p.numel() for p in module.parameters())
    for m in module.modules():
        if hasattr(m, "_packed_params") and hasattr(m, "weight") and callable(m.weight):
            w, b = m.weight(), m.bias()
            n += w.numel() + (b.numel() if b is not None else 0)
    return n


def _submodule_name(root: nn.Module, target: nn.Module) -> str | None:
    for name, m in root.named_modules():
        if m is target:
            return name
    return None


def _find_like(new: nn.Module, name: str, old: nn.Module) -> nn.Module | None:
    """The submodule of `new` that plays the role `old` played at `name` in the original."""
    for candidate in (name, f"inner.{name}" if name else "inner"):
        try:
            return new.get_submodule(candidate)
        except AttributeError:
            continue
    same = [m for m in new.modules() if type(m) is type(old)]
    return same[0] if same else None


def _remap_attributes(adapter: Any, old_root: nn.Module, new_root: nn.Module) -> None:
    """Point adapter attributes that held submodules of the old module at the new module's."""
    for attr, value in list(vars(adapter).items()):
        if attr == "module" or not isinstance(value, nn.Module):
            continue
        name = _submodule_name(old_root, value)
        if name is None:
            continue
        found = _find_like(new_root, name, value)
        if found is not None:
            setattr(adapter, attr, found)


def wrap_compressed(model: ModelAdapter, module: nn.Module, label: str,
                    device: torch.device | str | None = None,
                    details: dict[str, Any] | None = None) -> ModelAdapter:
    """A shallow copy of `model` that runs `module`: new name "<name> (<label>)", new lock.

    The original adapter and its module are left untouched; attributes that referred to
    submodules of the original (e.g. `embedding_layer`) are re-pointed into `module`.
    """
    if not label or not isinstance(label, str):
        raise InputError(f"a compressed model needs a non-empty label, got {label!r}")
    new = copy.copy(model)
    new.device = torch.device(device) if device is not None else model.device
    new.module = freeze(module).to(new.device)
    _remap_attributes(new, model.module, new.module)
    card = {k: v for k, v in dict(model.info.card).items() if k not in _MEASURED}
    card["compressed_from"] = model.info.name
    card["compression"] = dict(details or {}, label=label)
    sha = hashlib.sha256(state_bytes(new.module)).hexdigest()  # tells two runs' weights apart
    new.info = replace(model.info, name=f"{model.info.name} ({label})", card=card,
                       sha256=sha, source=f"compressed:{model.info.name}")
    new.lock = threading.RLock()
    new.compression = card["compression"]
    return new


def as_batch(model: ModelAdapter, raws: list[Any]) -> list[tuple[torch.Tensor, ...]]:
    """Preprocessed inputs, stacked into batches of equal shapes (one per shape group)."""
    xs = [model.as_tuple(model.preprocess(r)) if hasattr(model, "as_tuple")
          else _tuple(model.preprocess(r)) for r in raws]
    groups: dict[tuple, list[int]] = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(tuple(t.shape) for t in x), []).append(i)
    out = []
    for idx in groups.values():
        out.append((idx, tuple(torch.cat([xs[i][j] for i in idx]) for j in range(len(xs[0])))))
    return out


def _tuple(x: Any) -> tuple[torch.Tensor, ...]:
    return x if isinstance(x, tuple) else (x,)


@torch.no_grad()
def predictions(model: ModelAdapter, raws: list[Any], batch_size: int = 256) -> np.ndarray:
    """Predicted class per raw input (batched where inputs have equal shapes)."""
    pred = np.zeros(len(raws), dtype=np.int64)
    for idx, x in as_batch(model, raws):
        for start in range(0, len(idx), batch_size):
            part = tuple(t[start:start + batch_size] for t in x)
            logits = model.forward(*part).float()
            pred[idx[start:start + batch_size]] = logits.argmax(-1).cpu().numpy()
    return pred


def accuracy(model: ModelAdapter, samples: list[tuple[Any, int]]) -> float:
    """Fraction of (raw, true class) samples the model classifies correctly."""
    if not samples:
        raise InputError(f"{model.info.name} has no held-out samples to measure accuracy on")
    pred = predictions(model, [r for r, _ in samples])
    return float((pred == np.array([y for _, y in samples])).mean())

"""Turn a loaded tensor -> logits module plus its sidecar into an image or tabular adapter."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.device import pick_device
from models.errors import ModelLoadError
from models.user.adapters import UserImageAdapter, UserTabularAdapter
from models.user.sidecar import Sidecar
from models.user.wrappers import FixedMode, needs_chunks


def infer_sidecar(sidecar: Sidecar, example: tuple[torch.Tensor, ...] | None, label: str) -> Sidecar:
    """Fill modality, input size, channels and feature count from an example input's shape."""
    shape = tuple(example[0].shape) if example else None
    modality = sidecar.modality
    if modality is None and shape is not None:
        modality = {4: "image", 2: "tabular"}.get(len(shape))
    if modality is None:
        modality = "tabular" if sidecar.feature_names else "image" if sidecar.input_size else None
    if modality is None:
        raise ModelLoadError(
            f"{label}: cannot tell what input the model takes; add a sidecar with 'modality' "
            "('image' with 'input_size' [H, W] and 'channels', or 'tabular' with 'feature_names')"
        )
    if modality == "text":
        raise ModelLoadError(
            f"{label}: text models need their tokenizer; save a Hugging Face directory "
            "(model.save_pretrained + tokenizer.save_pretrained) instead"
        )
    changes: dict[str, Any] = {"modality": modality}
    if modality == "image":
        if sidecar.input_size is None and (shape is None or len(shape) != 4):
            raise ModelLoadError(f"{label}: image models need 'input_size' [H, W] in the sidecar")
        changes["input_size"] = sidecar.input_size or (int(shape[2]), int(shape[3]))
        changes["channels"] = sidecar.channels or (int(shape[1]) if shape and len(shape) == 4 else 3)
    elif not sidecar.feature_names:
        if shape is None or len(shape) != 2:
            raise ModelLoadError(f"{label}: tabular models need 'feature_names' in the sidecar")
        changes["feature_names"] = tuple(f"feature_{i}" for i in range(shape[1]))
    return replace(sidecar, **changes)


def example_input(sc: Sidecar) -> tuple[torch.Tensor, ...]:
    """A zero input of the shape the sidecar describes (batch of 1)."""
    if sc.modality == "image":
        h, w = sc.input_size or (224, 224)
        return (torch.zeros(1, sc.channels or 3, h, w),)
    return (torch.zeros(1, len(sc.feature_names)),)


def probe(module: torch.nn.Module, example: tuple[torch.Tensor, ...], label: str) -> int:
    """One forward pass: the number of classes, or a one-line ModelLoadError."""
    try:
        with torch.no_grad():
            out = module(*example)
    except Exception as exc:  # noqa: BLE001  (user code: any error means "does not run")
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(
            f"{label}: a forward pass on an input of shape {list(example[0].shape)} failed: {first}"
        ) from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != example[0].shape[0]:
        got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelLoadError(f"{label}: the model must return logits [batch, classes]; got {got}")
    return int(out.shape[1])


def build_adapter(module: torch.nn.Module, sidecar: Sidecar, path: Path, fmt: str,
                  device: str | None, example: tuple[torch.Tensor, ...] | None = None,
                  fixed_mode: bool = False) -> BaseAdapter:
    """Probe the module, check the labels against its outputs, and wrap it in an adapter."""
    label = path.name
    sc = infer_sidecar(sidecar, example, label)
    dev = pick_device(device)
    example = tuple(t.to(dev) for t in example_input(sc))
    module = FixedMode(module) if fixed_mode else module
    module = module.to(dev)
    n_classes = probe(module, example, label)
    if fixed_mode:
        module.chunk = needs_chunks(module, example)
    names = sc.class_names or tuple(f"class_{i}" for i in range(n_classes))
    if len(names) != n_classes:
        raise ModelLoadError(
            f"{label}: the sidecar names {len(names)} classes but the model outputs {n_classes}"
        )
    info = ModelInfo(
        name=sc.name or path.stem, modality=sc.modality or "image", class_names=names,
        feature_names=sc.feature_names, description=sc.description or f"user model ({fmt})",
        input_size=sc.input_size if sc.modality == "image" else None,
        card={"format": fmt, "batch_chunk": getattr(module, "chunk", 0)},
        source=str(path), sha256=sha256_of(path),
    )
    if sc.modality == "image":
        return UserImageAdapter(module, info, sc, device, target_layer=sc.target_layer)
    return UserTabularAdapter(module, info, device)

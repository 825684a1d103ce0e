"""Weights only (safetensors, or a weights-only torch.save state dict) for a known architecture."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from models.base import BaseAdapter
from models.errors import ModelLoadError, UnknownNameError
from models.user.common import build_adapter
from models.user.safety import load_weights_only
from models.user.sidecar import Sidecar

IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}


@dataclass(frozen=True)
class Architecture:
    """How to build an empty module, and sidecar defaults (modality, size, normalisation)."""

    build: Callable[..., torch.nn.Module] | str  # a factory, or "module:attribute" imported lazily
    defaults: dict[str, Any] = field(default_factory=dict)

    def factory(self) -> Callable[..., torch.nn.Module]:
        if callable(self.build):
            return self.build
        mod, _, attr = self.build.partition(":")
        obj: Any = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj


def _efficientnet(**kwargs: Any) -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0", **kwargs)


ARCHITECTURES: dict[str, Architecture] = {
    "breast-cancer-mlp": Architecture("models.builtin.tabular:TabularMLP", {"modality": "tabular"}),
    "mnist-cnn": Architecture(
        "models.builtin.mnist:MnistCNN",
        {"modality": "image", "input_size": (28, 28), "channels": 1,
         "class_names": tuple(str(i) for i in range(10))},
    ),
    "efficientnet-lite0": Architecture(
        _efficientnet, {"modality": "image", "input_size": (224, 224), "channels": 3, **IMAGENET}
    ),
}


def register_architecture(name: str, build: Callable[..., torch.nn.Module] | str,
                          **defaults: Any) -> None:
    """Make an architecture loadable from weights (Python API; e.g. your own nn.Module class)."""
    ARCHITECTURES[name] = Architecture(build, defaults)


def is_safetensors(path: Path) -> bool:
    """safetensors: an 8-byte little-endian header length, then a JSON header starting with '{'."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (100 << 20)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A flat name -> tensor dict from safetensors or a weights-only torch.save file."""
    if is_safetensors(path):
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelLoadError(f"{path.name} is not a readable safetensors file (corrupt or truncated?): {first}") from None
    obj = load_weights_only(path, path.name)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelLoadError(f"{path.name} holds a {type(obj).__name__}, not a state dict of tensors")
    return obj


def load_state_dict_model(path: Path, sidecar: Sidecar, device: str | None = None) -> BaseAdapter:
    """Build the sidecar's architecture, load the weights strictly, and wrap it."""
    state = read_state_dict(path)  # first: a pickled full model is refused before anything else
    if not sidecar.architecture:
        raise ModelLoadError(
            f"{path.name} holds weights only; add a sidecar with 'architecture' "
            f"(one of: {', '.join(sorted(ARCHITECTURES))})"
        )
    arch = ARCHITECTURES.get(sidecar.architecture)
    if arch is None:
        raise UnknownNameError(
            f"unknown architecture {sidecar.architecture!r}; allowed: {', '.join(sorted(ARCHITECTURES))}"
        )
    try:
        module = arch.factory()(**sidecar.architecture_kwargs)
    except (TypeError, ValueError, ImportError, AttributeError) as exc:
        raise ModelLoadError(f"cannot build architecture {sidecar.architecture!r}: {exc}") from None
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches
        detail = " ".join(str(exc).split())[:300]
        raise ModelLoadError(f"{path.name} does not fit {sidecar.architecture!r}: {detail}") from None
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected:
        raise ModelLoadError(
            f"{path.name} does not fit {sidecar.architecture!r}: {len(missing)} missing "
            f"(e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}) weights"
        )
    defaults = {k: v for k, v in arch.defaults.items() if getattr(sidecar, k) in (None, ())}
    return build_adapter(module, replace(sidecar, **defaults), path, "state dict", device)

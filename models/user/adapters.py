"""Adapters for user models that are plain tensor -> logits modules (image and tabular)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from models.base import BaseAdapter, ModelInfo
from models.builtin.common import to_pil
from models.errors import InputError
from models.user.guard import CheckedForward
from models.user.sidecar import Sidecar


class UserImageAdapter(CheckedForward, BaseAdapter):
    """An image classifier [1, C, H, W] -> logits, with resizing and normalisation from the sidecar."""

    def __init__(self, module: torch.nn.Module, info: ModelInfo, sidecar: Sidecar,
                 device: str | None = None, target_layer: str | None = None):
        super().__init__(module, info, device)
        self.channels = sidecar.channels or 3
        c = self.channels
        mean = sidecar.mean or (0.0,)
        std = sidecar.std or (1.0,)
        for key, vals in (("mean", mean), ("std", std)):
            if len(vals) not in (1, c):
                raise InputError(f"sidecar {key} has {len(vals)} values; the model has {c} channel(s)")
        self._mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1).expand(c, 1, 1).clone()
        self._std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1).expand(c, 1, 1).clone()
        self._target = target_layer
        self.baseline_kinds = ("black", "mean", "blur", "noise")

    def _resized(self, raw: Any):
        h, w = self.info.input_size or (224, 224)
        img = to_pil(raw).convert("L" if self.channels == 1 else "RGB")
        return img.resize((w, h))

    def preprocess(self, raw: Any) -> torch.Tensor:
        arr = np.asarray(self._resized(raw), dtype=np.float32) / 255.0
        x = torch.from_numpy(arr)
        x = x.unsqueeze(0) if x.ndim == 2 else x.permute(2, 0, 1)
        return ((x - self._mean) / self._std).unsqueeze(0).to(self.device)

    def display_image(self, raw: Any) -> np.ndarray:
        return np.asarray(self._resized(raw).convert("RGB"), dtype=np.uint8)

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        """black (all-zero pixels), mean (the normalisation mean), blur, or noise; same shape as x."""
        mean, std = self._mean.to(x.device), self._std.to(x.device)
        if kind == "black":
            return ((torch.zeros_like(x) - mean) / std).expand_as(x).clone()
        if kind == "mean":
            return torch.zeros_like(x)
        if kind == "blur":
            k = max(3, (min(x.shape[-2:]) // 8) | 1)
            return torch.nn.functional.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)
        if kind == "noise":
            g = torch.Generator().manual_seed(0)
            return torch.randn(x.shape, generator=g).to(x.device) * 0.5
        raise InputError(f"unknown baseline {kind!r}; allowed: {list(self.baseline_kinds)}")

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        """No training data ships with a user model: n uniform-noise images (first one black)."""
        c = self.channels
        h, w = self.info.input_size or (224, 224)
        g = torch.Generator().manual_seed(seed)
        raw = torch.rand((n, c, h, w), generator=g)
        raw[0] = 0.0
        return ((raw - self._mean) / self._std).to(self.device)

    def conv_layers(self) -> dict[str, torch.nn.Module]:
        """Conv2d modules by qualified name (last = deepest), for Grad-CAM."""
        return {n: m for n, m in self.module.named_modules() if isinstance(m, torch.nn.Conv2d)}

    @property
    def default_target_layer(self) -> str:
        layers = self.conv_layers()
        if self._target:
            return self._target
        return list(layers)[-1] if layers else ""  # "" = no Conv2d layer (Grad-CAM unavailable)


class UserTabularAdapter(CheckedForward, BaseAdapter):
    """A tabular model [1, F] raw feature values -> logits; feature names from the sidecar."""

    baseline_kinds = ("zero",)

    def preprocess(self, raw: Any) -> torch.Tensor:
        names = self.info.feature_names
        if isinstance(raw, dict):
            from models.tables import row_floats

            values = list(row_floats(raw, names).values())
        elif hasattr(raw, "iloc"):  # a one-row DataFrame
            if len(raw) != 1:
                raise InputError(f"expected one row, got {len(raw)}")
            return self.preprocess(raw.iloc[0].to_dict())
        else:
            values = np.asarray(raw, dtype=np.float64).reshape(-1).tolist()
            if len(values) != len(names):
                raise InputError(f"expected {len(names)} feature values, got {len(values)}")
        try:
            arr = np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputError(f"feature values must be numbers: {exc}") from None
        return torch.from_numpy(arr).unsqueeze(0).to(self.device)

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind != "zero":
            raise InputError(f"unknown baseline {kind!r}; allowed: {list(self.baseline_kinds)}")
        return torch.zeros_like(x)

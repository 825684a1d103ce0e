"""Device selection: CUDA when available, else CPU; GLASSBOX_DEVICE overrides."""
from __future__ import annotations

import os

import torch

from models.errors import InputError

ENV_VAR = "GLASSBOX_DEVICE"


def pick_device(requested: str | torch.device | None = None) -> torch.device:
    """Return the device to use: an explicit request, then $GLASSBOX_DEVICE, then cuda/cpu."""
    name = requested if requested is not None else os.environ.get(ENV_VAR) or None
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown device {name!r}; use 'cpu', 'cuda' or 'cuda:N'") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name!r} requested but CUDA is not available; use 'cpu'")
    return device

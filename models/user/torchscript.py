"""TorchScript archives (torch.jit.save): compiled code from the model's author, no Python pickles."""
from __future__ import annotations

from pathlib import Path

import torch

from models.base import BaseAdapter
from models.errors import ModelLoadError
from models.user.common import build_adapter
from models.user.safety import check_zip, open_zip
from models.user.sidecar import Sidecar


def is_torchscript(names: list[str]) -> bool:
    """A TorchScript zip has <root>/code/ and <root>/data.pkl (and constants.pkl)."""
    return any("/code/" in n for n in names) and any(n.endswith("/data.pkl") for n in names)


def load_torchscript(path: Path, sidecar: Sidecar, device: str | None = None) -> BaseAdapter:
    """Load with torch.jit.load on CPU (no hooks possible later), then probe and wrap."""
    with open_zip(path) as zf:
        check_zip(zf, path.name)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(f"{path.name} is not a loadable TorchScript archive: {first}") from None
    module.eval()  # ScriptModules honour eval(); the wrapper then keeps that mode
    for p in module.parameters():  # the wrapper hides the ScriptModule, so freeze it here
        p.requires_grad_(False)
    return build_adapter(module, sidecar, path, "torchscript", device, fixed_mode=True)

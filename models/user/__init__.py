"""Bring your own model: load_user_model(path) for TorchScript, torch.export, weights, Hugging Face."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from models.base import ModelAdapter
from models.errors import ModelLoadError
from models.user.safety import check_size, open_zip
from models.user.sidecar import Sidecar, find_sidecar, parse_sidecar, read_sidecar, resolve_sidecar
from models.user.statedict import ARCHITECTURES, register_architecture

__all__ = [
    "ARCHITECTURES", "Sidecar", "detect_format", "load_user_model", "parse_sidecar", "read_sidecar",
    "register_architecture",
]

FORMATS = ("torchscript", "torch.export", "safetensors", "state dict", "huggingface", "huggingface zip")


def detect_format(path: str | Path) -> str:
    """Which loader a file or directory needs (one of FORMATS); never runs anything in it."""
    from models.user.exported import is_exported
    from models.user.hf import is_hf_dir
    from models.user.statedict import is_safetensors
    from models.user.torchscript import is_torchscript

    path = Path(path)
    if path.is_dir():
        if is_hf_dir(path):
            return "huggingface"
        raise ModelLoadError(f"{path.name} is a folder without config.json; expected a Hugging Face model folder")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:2] == b"PK":
        with open_zip(path) as zf:
            names = zf.namelist()
        if is_exported(names):
            return "torch.export"
        if is_torchscript(names):
            return "torchscript"
        if any(n.endswith("data.pkl") for n in names):
            return "state dict"  # torch.save zip: weights-only loading decides
        if any(n == "config.json" or n.count("/") == 1 and n.endswith("/config.json") for n in names):
            return "huggingface zip"
        raise ModelLoadError(f"{path.name} is a zip but not a TorchScript, torch.export or Hugging Face archive")
    if is_safetensors(path):
        return "safetensors"
    if head[:1] == b"\x80" or path.suffix in (".pt", ".pth", ".bin", ".pkl", ".ckpt"):
        return "state dict"
    raise ModelLoadError(
        f"{path.name}: unrecognised model format; supported: TorchScript (.pt/.ts), torch.export "
        "(.pt2), safetensors or a weights-only state dict + sidecar, a Hugging Face folder or zip"
    )


def load_user_model(path: str | Path, device: str | None = None,
                    sidecar: str | Path | dict[str, Any] | Sidecar | None = None) -> ModelAdapter:
    """Load a user model safely; the sidecar is explicit, or found beside the model."""
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"no such model file or folder: {str(path)!r}")
    check_size(path)
    fmt = detect_format(path)
    sc = resolve_sidecar(path, sidecar)
    if fmt == "torchscript":
        from models.user.torchscript import load_torchscript

        return load_torchscript(path, sc, device)
    if fmt == "torch.export":
        from models.user.exported import load_exported

        return load_exported(path, sc, device)
    if fmt in ("safetensors", "state dict"):
        from models.user.statedict import load_state_dict_model

        return load_state_dict_model(path, sc, device)
    from models.user.hf import load_hf

    if fmt == "huggingface":
        return load_hf(path, sc, device)
    return _load_hf_zip(path, sidecar, sc, device)


def _load_hf_zip(path: Path, explicit: Any, sc: Sidecar, device: str | None) -> ModelAdapter:
    """Extract safely into a temporary folder; the model is fully in memory after loading."""
    from models.user.hf import load_hf
    from models.user.safety import extract_zip

    with tempfile.TemporaryDirectory(prefix="glassbox-hf-") as tmp:
        root = extract_zip(path, Path(tmp))
        inner = find_sidecar(root)
        if explicit is None and find_sidecar(path) is None and inner is not None:
            sc = read_sidecar(inner)
        return load_hf(root, sc, device, source=path)


"""torch.export archives (.pt2): checked for pickled payloads first, then torch.export.load."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import torch

from models.base import BaseAdapter
from models.device import pick_device
from models.errors import ModelLoadError
from models.user.common import build_adapter
from models.user.safety import check_zip, load_weights_only, open_zip
from models.user.sidecar import Sidecar

# torch.export.load unpickles some members with weights_only=False (pickled weights/constants,
# custom objects, the legacy format) or loads compiled code (AOTInductor): refuse those up front.
_FORBIDDEN_DIRS = ("data/aotinductor/", "data/constants/custom_obj", "data/constants/opaque")


def is_exported(names: list[str]) -> bool:
    return any(n.endswith("archive_format") for n in names) and any("/models/" in n for n in names)


def _prefix(names: list[str]) -> str:
    fmt = next(n for n in names if n.endswith("archive_format"))
    return fmt[: -len("archive_format")]


def check_pt2(zf: zipfile.ZipFile, label: str) -> None:
    """Refuse a .pt2 whose loading would unpickle anything but weights, or run compiled code."""
    names = zf.namelist()
    if not is_exported(names):
        raise ModelLoadError(f"{label} is not a torch.export archive (no archive_format); re-save with torch.export.save")
    root = _prefix(names)
    for n in names:
        rel = n[len(root):] if n.startswith(root) else n
        if rel.startswith(_FORBIDDEN_DIRS):
            raise ModelLoadError(f"{label}: member {n!r} holds compiled code or a pickled object; refused")
        if rel.startswith(("data/weights/", "data/constants/")) and rel.endswith(".pt"):
            raise ModelLoadError(f"{label} uses the legacy pickled weight format; re-save with torch.export.save")
    for n in names:
        rel = n[len(root):]
        if rel.startswith("data/") and rel.endswith("_config.json"):
            _check_config(zf, n, root, label)
        elif rel.startswith("data/sample_inputs/"):
            load_weights_only(zf.read(n), f"{label}: {rel}")


def _check_config(zf: zipfile.ZipFile, name: str, root: str, label: str) -> None:
    try:
        config = json.loads(zf.read(name)).get("config", {})
    except (ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{label}: {name} is not valid JSON: {exc}") from None
    folder = name.rsplit("/", 1)[0] + "/"
    for fqn, meta in config.items():
        if isinstance(meta, dict) and meta.get("use_pickle"):
            load_weights_only(zf.read(folder + str(meta.get("path_name", ""))), f"{label}: {fqn}")


def load_exported(path: Path, sidecar: Sidecar, device: str | None = None) -> BaseAdapter:
    """Load an ExportedProgram; its module() is wrapped because eval() is not supported on it."""
    with open_zip(path) as zf:
        check_zip(zf, path.name)
        check_pt2(zf, path.name)
    try:
        ep = torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001  (deserialisation raises many types)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(f"{path.name} is not a loadable torch.export archive: {first}") from None
    dev = pick_device(device)
    if dev.type != "cpu":  # constants baked into the graph move too, not only the parameters
        ep = torch.export.passes.move_to_device_pass(ep, dev)
    example = _example(ep)
    return build_adapter(ep.module(), sidecar, path, "torch.export", device, example, fixed_mode=True)


def _example(ep: torch.export.ExportedProgram) -> tuple[torch.Tensor, ...] | None:
    """The example inputs saved with the program, else zeros shaped like its first input."""
    if ep.example_inputs and ep.example_inputs[0]:
        return tuple(t for t in ep.example_inputs[0] if isinstance(t, torch.Tensor)) or None
    for node in ep.graph.nodes:
        if node.op == "placeholder" and node.name in ep.graph_signature.user_inputs:
            val = node.meta.get("val")
            if val is not None and all(isinstance(s, int) for s in val.shape):
                return (torch.zeros(tuple(val.shape)),)
    return None

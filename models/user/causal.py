"""Users' causal language models: a save_pretrained folder of any *ForCausalLM, checked, offline."""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import torch

from models import memory
from models.base import ModelInfo
from models.builtin.causal_lm import CausalLMAdapter, load_pretrained
from models.device import pick_device
from models.errors import ModelLoadError
from models.user.sidecar import Sidecar

LM_SUFFIXES = ("ForCausalLM", "LMHeadModel")
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
HALF = {"F16": torch.float16, "BF16": torch.bfloat16}
LOAD_OVERHEAD = 1.2  # loading holds a little more than the weights (buffers, a staging copy)
MAX_HEADER = 100 << 20


def is_causal_lm(cfg: dict[str, Any]) -> bool:
    """True when config.json's architectures name a *ForCausalLM / *LMHeadModel."""
    return any(a.endswith(LM_SUFFIXES) for a in cfg.get("architectures") or [])


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a .safetensors file (names, dtypes, shapes); reads no tensor data."""
    with open(path, "rb") as fh:
        raw = fh.read(8)
        size = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
        if not 0 < size <= MAX_HEADER:
            raise ModelLoadError(f"{path.name} is not a valid safetensors file (header size {size})")
        try:
            header = json.loads(fh.read(size))
        except ValueError as exc:
            raise ModelLoadError(f"{path.name}: unreadable safetensors header: {exc}") from None
    header.pop("__metadata__", None)
    return header


def stored_weights(folder: Path) -> tuple[int, dict[str, int]]:
    """(parameter count, bytes per stored dtype) over every *.safetensors in the folder."""
    count, by_dtype = 0, {}
    for f in sorted(folder.glob("*.safetensors")):
        for t in safetensors_header(f).values():
            n = 1
            for d in t.get("shape", []):
                n *= int(d)
            dtype = str(t.get("dtype"))
            count += n
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n * DTYPE_BYTES.get(dtype, 4)
    return count, by_dtype


def load_dtype(by_dtype: dict[str, int], device: torch.device) -> torch.dtype:
    """bf16/fp16 on a GPU when the weights are stored so; float32 otherwise (and on CPU)."""
    floats = {k: v for k, v in by_dtype.items() if k in ("F32", "F16", "BF16", "F64")}
    stored = max(floats, key=floats.get) if floats else "F32"
    if device.type != "cuda" or stored not in HALF:
        return torch.float32
    if stored == "BF16" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return HALF[stored]


def check_memory(folder: Path, device: torch.device, label: str) -> tuple[int, torch.dtype, int]:
    """(parameters, load dtype, bytes needed); one-line refusal when it will not fit on device."""
    count, by_dtype = stored_weights(folder)
    dtype = load_dtype(by_dtype, device)
    need = int(count * torch.empty((), dtype=dtype).element_size() * LOAD_OVERHEAD)
    what = f"{label} ({count / 1e6:.1f}M parameters in {str(dtype).removeprefix('torch.')})"
    memory.check_fits(need, device, what)
    if device.type == "cuda":  # from_pretrained stages the weights in CPU RAM first
        memory.check_fits(need, "cpu", what)
    return count, dtype, need


def not_loaded(module: torch.nn.Module, loading: dict[str, Any]) -> list[str]:
    """Weights the checkpoint did not fill: missing or shape-mismatched (buffers excluded)."""
    buffers = {n for n, _ in module.named_buffers()}
    missing = [k for k in loading.get("missing_keys") or [] if k not in buffers]
    mismatched = [m[0] if isinstance(m, tuple | list) else str(m)
                  for m in loading.get("mismatched_keys") or []]
    return sorted(set(missing) | set(mismatched))


def refuse_incomplete(module: torch.nn.Module, loading: dict[str, Any], label: str) -> None:
    """One ModelLoadError line naming the weights a load left missing or newly initialised."""
    bad = not_loaded(module, loading)
    if bad:
        shown = ", ".join(bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
        raise ModelLoadError(f"{label}: {len(bad)} weight(s) are not in the checkpoint and would "
                             f"be random: {shown}; refused (save the complete model)")


def _check_tokenizer(path: Path) -> None:
    cfg = path / "tokenizer_config.json"
    if cfg.is_file() and '"auto_map"' in cfg.read_text(encoding="utf-8", errors="replace"):
        raise ModelLoadError(f"{path.name}: tokenizer_config.json asks for custom remote code "
                             "(auto_map); refused")


def load_causal(path: Path, sidecar: Sidecar, device: str | None, source: Path, sha: str,
                first_line) -> CausalLMAdapter:
    """A CausalLMAdapter for a checked folder (auto_map and safetensors already checked)."""
    _check_tokenizer(path)
    dev = pick_device(device)
    count, dtype, need = check_memory(path, dev, source.name)
    try:
        module, tokenizer, loading = load_pretrained(path, dtype=dtype)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, TypeError) as exc:
        raise ModelLoadError(f"{path.name}: cannot load the causal language model: "
                             f"{first_line(exc)}") from None
    refuse_incomplete(module, loading, source.name)
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"{path.name}: needs a fast tokenizer (tokenizer.json); "
                             "save it with tokenizer.save_pretrained(dir)")
    info = ModelInfo(
        name=sidecar.name or source.stem, modality="generation", class_names=(),
        description=sidecar.description or f"user model (Hugging Face {type(module).__name__})",
        card={"format": "huggingface", "architecture": type(module).__name__,
              "parameters": count, "dtype": str(dtype).removeprefix("torch."),
              "load_memory_bytes": need},
        source=str(source), sha256=sha,
    )
    return CausalLMAdapter(module, tokenizer, info, dev)

"""Hugging Face directories (or zips of one): sequence/image classification or causal LM, offline."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin.common import to_pil
from models.errors import InputError, ModelLoadError
from models.user.causal import is_causal_lm, load_causal, refuse_incomplete
from models.user.guard import CheckedForward
from models.user.sidecar import Sidecar

OFFLINE = {"local_files_only": True}


def is_hf_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def _config(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path.name}/config.json is unreadable: {exc}") from None


def _task(path: Path, cfg: dict[str, Any], sidecar: Sidecar) -> str:
    archs = " ".join(cfg.get("architectures") or [])
    if sidecar.modality in ("text", "image"):
        return sidecar.modality
    if "ForSequenceClassification" in archs or (path / "tokenizer_config.json").is_file():
        return "text"
    if "ForImageClassification" in archs or (path / "preprocessor_config.json").is_file():
        return "image"
    raise ModelLoadError(
        f"{path.name}: cannot tell the task from config.json architectures {archs!r}; "
        "expected *ForSequenceClassification or *ForImageClassification"
    )


def _check_dir(path: Path, cfg: dict[str, Any]) -> None:
    if cfg.get("auto_map"):
        raise ModelLoadError(f"{path.name}: config.json asks for custom remote code (auto_map); refused")
    if not any(path.glob("*.safetensors")):
        raise ModelLoadError(
            f"{path.name} has no *.safetensors weights (pickled pytorch_model.bin is not loaded); "
            "re-save with model.save_pretrained(dir, safe_serialization=True)"
        )


def _weights_sha(path: Path) -> str:
    return sha256_of(*sorted(path.glob("*.safetensors")), path / "config.json")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_hf(path: Path, sidecar: Sidecar, device: str | None = None,
            source: Path | None = None) -> BaseAdapter:
    """Load with Auto* classes, eager attention, local files only (HF_HUB_OFFLINE set)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cfg = _config(path)
    _check_dir(path, cfg)
    src = source or path
    sha = sha256_of(src) if src.is_file() else _weights_sha(path)
    if is_causal_lm(cfg):
        return load_causal(path, sidecar, device, src, sha, _first_line)
    task = _task(path, cfg, sidecar)
    import transformers

    auto = (transformers.AutoModelForSequenceClassification if task == "text"
            else transformers.AutoModelForImageClassification)
    try:
        module, loading = auto.from_pretrained(str(path), attn_implementation="eager", use_safetensors=True,
                                               output_loading_info=True, **OFFLINE)
        if task == "text":
            proc = transformers.AutoTokenizer.from_pretrained(str(path), **OFFLINE)
        else:
            proc = transformers.AutoImageProcessor.from_pretrained(str(path), backend="pil", **OFFLINE)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as exc:
        raise ModelLoadError(f"{path.name}: cannot load the Hugging Face model: {_first_line(exc)}") from None
    refuse_incomplete(module, loading, src.name)  # e.g. a language model loaded with a random head
    names = sidecar.class_names or _labels(module.config)
    if len(names) != module.config.num_labels:
        raise ModelLoadError(f"{path.name}: {len(names)} class names for {module.config.num_labels} labels")
    info = ModelInfo(
        name=sidecar.name or src.stem, modality=task, class_names=names,
        description=sidecar.description or f"user model (Hugging Face {type(module).__name__})",
        card={"format": "huggingface", "architecture": type(module).__name__},
        source=str(src), sha256=sha,
    )
    cls = HFTextAdapter if task == "text" else HFImageAdapter
    return cls(module, info, proc, sidecar, device)


def _labels(config: Any) -> tuple[str, ...]:
    id2label = getattr(config, "id2label", None) or {}
    return tuple(str(id2label.get(i, f"class_{i}")) for i in range(config.num_labels))


class HFTextAdapter(CheckedForward, BaseAdapter):
    """Sequence classification: input_ids [1, T] -> logits, all-ones mask built here."""

    def __init__(self, module: torch.nn.Module, info: ModelInfo, tokenizer: Any, sidecar: Sidecar,
                 device: str | None = None):
        super().__init__(module, info, device)
        self.tokenizer = tokenizer
        self.embedding_layer = module.get_input_embeddings()
        pad = tokenizer.pad_token_id
        self.pad_token_id = int(pad if pad is not None else 0)
        self.mask_token_id = tokenizer.mask_token_id
        limit = getattr(module.config, "max_position_embeddings", 512) or 512
        self.max_length = min(sidecar.max_length or limit, limit)

    @property
    def max_tokens(self) -> int:
        return self.max_length

    def text_end(self, text: str) -> int:
        """Characters up to the last token kept under max_length (HasTextLimit)."""
        from models.text_fit import tokenizer_end

        return tokenizer_end(self.tokenizer, text, self.max_length)

    def _encode(self, raw: Any) -> Any:
        if not isinstance(raw, str) or not raw.strip():
            raise InputError(f"text input must be a non-empty string; got {raw!r:.60}")
        return self.tokenizer(raw, truncation=True, max_length=self.max_length)

    def preprocess(self, raw: Any) -> torch.Tensor:
        ids = self._encode(raw)["input_ids"]
        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def raw_forward(self, *x: torch.Tensor) -> torch.Tensor:
        ids = x[0]
        return self.module(input_ids=ids, attention_mask=torch.ones_like(ids)).logits

    def tokens(self, raw: Any) -> tuple[str, ...]:
        return tuple(self.tokenizer.convert_ids_to_tokens(self._encode(raw)["input_ids"]))

    def word_ids(self, raw: Any) -> list[int | None]:
        enc = self._encode(raw)
        return list(enc.word_ids()) if hasattr(enc, "word_ids") else [None] * len(enc["input_ids"])

    @torch.no_grad()
    def attention(self, x: torch.Tensor) -> torch.Tensor:
        out = self.module(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True)
        return torch.stack([a[0] for a in out.attentions])  # [layers, heads, T, T]


class HFImageAdapter(CheckedForward, BaseAdapter):
    """Image classification with its image processor; display = the processed pixels."""

    def __init__(self, module: torch.nn.Module, info: ModelInfo, processor: Any, sidecar: Sidecar,
                 device: str | None = None):
        super().__init__(module, info, device)
        self.processor = processor
        self._mean = np.asarray(getattr(processor, "image_mean", None) or [0.0], dtype=np.float32)
        self._std = np.asarray(getattr(processor, "image_std", None) or [1.0], dtype=np.float32)
        x = self.preprocess(np.zeros((32, 32, 3), dtype=np.uint8))
        self.info = replace(info, input_size=(int(x.shape[2]), int(x.shape[3])))

    def preprocess(self, raw: Any) -> torch.Tensor:
        img = to_pil(raw).convert("RGB")
        pixels = self.processor(images=img, return_tensors="pt")["pixel_values"]
        return pixels.to(self.device, dtype=torch.float32)

    def raw_forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self.module(pixel_values=x[0]).logits

    def display_image(self, raw: Any) -> np.ndarray:
        x = self.preprocess(raw)[0].permute(1, 2, 0).cpu().numpy()
        rgb = x * self._std + self._mean
        return (np.clip(rgb, 0.0, 1.0) * 255).round().astype(np.uint8)

    def conv_layers(self) -> dict[str, torch.nn.Module]:
        return {n: m for n, m in self.module.named_modules() if isinstance(m, torch.nn.Conv2d)}

    @property
    def default_target_layer(self) -> str:
        layers = self.conv_layers()
        return list(layers)[-1] if layers else ""  # "" = no Conv2d layer (Grad-CAM unavailable)

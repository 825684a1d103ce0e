"""Every model contract: ModelInfo, the ModelAdapter protocol, capability protocols, BaseAdapter."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from models.device import pick_device

MODALITIES = ("image", "text", "tabular", "fusion", "generation")  # generation: causal LMs


@dataclass(frozen=True)
class ModelInfo:
    """What a model is: its name, modality, labels and model card."""

    name: str
    modality: str  # one of MODALITIES
    class_names: tuple[str, ...]
    feature_names: tuple[str, ...] = ()
    description: str = ""
    input_size: tuple[int, int] | None = None  # (H, W) for image models
    card: dict[str, Any] = field(default_factory=dict)  # data, split, accuracy, credits, licence
    source: str = "builtin"  # "builtin" or the path it was loaded from
    sha256: str = ""  # of the weights file(s) the model was loaded from

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality {self.modality!r} is not one of {MODALITIES}")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@runtime_checkable
class ModelAdapter(Protocol):
    """The one model contract every layer above relies on."""

    info: ModelInfo
    device: torch.device
    lock: threading.RLock  # explanations on one model are serialised by this
    module: torch.nn.Module  # the torch module forward() runs (eval, no grads)

    def preprocess(self, raw: Any) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Raw input -> model batch of 1 on self.device."""

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        """Logits [batch, classes]; Captum's forward_func."""

    def predict(self, raw: Any) -> np.ndarray:
        """Probabilities [classes] for one raw input."""

    def units(self, raw: Any) -> tuple[str, ...]:
        """Token strings / feature names aligned to attributions; () for images."""


# ----------------------------------------------------------------- capabilities
@runtime_checkable
class HasEmbeddingLayer(Protocol):
    """Text models: layer attribution on the token embeddings."""

    embedding_layer: torch.nn.Module
    pad_token_id: int
    mask_token_id: int | None

    def tokens(self, raw: Any) -> tuple[str, ...]:
        """The token strings the model sees (with special tokens)."""


@runtime_checkable
class HasTargetLayer(Protocol):
    """Conv models: Grad-CAM layers."""

    def conv_layers(self) -> dict[str, torch.nn.Module]:
        """Candidate Grad-CAM layers by qualified name, last one is the default."""

    @property
    def default_target_layer(self) -> str:
        """Name of the default Grad-CAM layer."""


@runtime_checkable
class HasAttention(Protocol):
    """Transformers: attention weights [layers, heads, tokens, tokens]."""

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention probabilities for one preprocessed input, [L, H, T, T]."""


@runtime_checkable
class HasBaselines(Protocol):
    """Models with meaningful baselines (blur, data-set mean, [PAD], training data)."""

    baseline_kinds: tuple[str, ...]

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        """A baseline for preprocessed x of the same shape."""

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        """n preprocessed training samples, for SHAP backgrounds and data baselines."""


@runtime_checkable
class HasImage(Protocol):
    """Image (and fusion) models: the picture the model sees, for overlays."""

    def display_image(self, raw: Any) -> np.ndarray:
        """uint8 [H, W, 3] at the model's input resolution, aligned with [H, W] attributions."""


@runtime_checkable
class HasSamples(Protocol):
    """Models with a bundled data set: held-out samples for galleries and data-set views."""

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        """Up to n (raw input, true class index) pairs from the held-out split."""


@runtime_checkable
class HasWordIds(Protocol):
    """Subword text models: which word each token belongs to (merging pieces into words)."""

    def word_ids(self, raw: Any) -> list[int | None]:
        """Word index per token, None for special tokens; aligned with tokens(raw)."""


@runtime_checkable
class HasAttentionLogits(Protocol):
    """Transformers whose attention can be differentiated: logits and attention in one call."""

    def attention_and_logits(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """(logits [1, classes], attention per layer [1, H, T, T] kept in the graph)."""


@runtime_checkable
class HasFusion(Protocol):
    """Image+text fusion models: the text enters as token embeddings beside the image."""

    pad_token_id: int
    baseline_kinds: tuple[str, ...]

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token ids [B, T] -> embeddings [B, T, D]."""

    def forward_embeddings(self, image: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        """Logits [B, classes] from an image batch and token embeddings."""

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        """An image baseline of x's shape."""

    def tokens(self, raw: Any) -> tuple[str, ...]:
        """The token strings of the input's text."""


@runtime_checkable
class HasTextLimit(Protocol):
    """Text models with a context: how many tokens they read and where that ends in a text."""

    max_tokens: int

    def text_end(self, text: str) -> int:
        """How many leading characters of `text` the model reads (len(text) when all of it)."""


@runtime_checkable
class IsCompressed(Protocol):
    """A pruned, quantized or distilled copy of another model (the compression lab's output)."""

    compression: dict[str, Any]  # what was done: kind, amount, the original's name, ...


@runtime_checkable
class IsGenerative(Protocol):
    """Causal language models (modality "generation"): continuations and their log-probabilities."""

    tokenizer: Any
    embedding_layer: torch.nn.Module

    def generate(self, prompt: str, max_new_tokens: int = 20) -> str:
        """The greedy continuation only."""

    def log_prob(self, prompt: str, continuation: str) -> float:
        """sum log p(continuation tokens | prompt)."""

    def logit_lens(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token log-probabilities read out after every layer, [layers + 1, T, vocab]."""


# ----------------------------------------------------------------- base class
def sha256_of(*paths: str | Path) -> str:
    """sha256 over the bytes of the given files, in order."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    """Eval mode, no grads on parameters: models are never trained or mutated after loading."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class BaseAdapter:
    """Common behaviour: device placement, freezing, the lock, predict() and units()."""

    def __init__(self, module: torch.nn.Module, info: ModelInfo, device: str | None = None):
        self.device = pick_device(device)
        self.module = freeze(module).to(self.device)
        self.info = info
        self.lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.info.name} on {self.device}>"

    def preprocess(self, raw: Any) -> torch.Tensor | tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self.module(*x)

    def as_tuple(self, x: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return x if isinstance(x, tuple) else (x,)

    @torch.no_grad()
    def predict(self, raw: Any) -> np.ndarray:
        logits = self.forward(*self.as_tuple(self.preprocess(raw)))
        return torch.softmax(logits.float(), dim=-1)[0].cpu().numpy()

    def units(self, raw: Any) -> tuple[str, ...]:
        if self.info.modality == "tabular":
            return self.info.feature_names
        if self.info.modality == "text" and isinstance(self, HasEmbeddingLayer):
            return self.tokens(raw)
        return ()

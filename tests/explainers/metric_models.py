"""Tiny stand-in adapters (tabular, digits CNN, bag-of-embeddings text) for the trust-score tests."""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo

RELEVANT = (1, 4, 7)  # the only inputs the toy tabular models use
N_FEATURES = 10


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Tiny models run far faster on one thread on a busy machine; restores the setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


# ----------------------------------------------------------------- tabular
class TabularToy(BaseAdapter):
    """10 raw features, 2 classes; only features 1, 4 and 7 reach the output (by construction)."""

    baseline_kinds = ("mean", "zero")

    def __init__(self, module: nn.Module, name: str = "toy-tabular"):
        names = tuple(f"f{i}" for i in range(N_FEATURES))
        super().__init__(module, ModelInfo(name, "tabular", ("neg", "pos"), names), device="cpu")
        rng = np.random.default_rng(0)
        self.data = torch.as_tensor(rng.normal(1.0, 2.0, (500, N_FEATURES)), dtype=torch.float32)

    def preprocess(self, raw: Any) -> torch.Tensor:
        if isinstance(raw, dict):
            raw = [raw[f] for f in self.info.feature_names]
        return torch.as_tensor(np.asarray(raw, dtype=np.float32).reshape(1, -1), device=self.device)

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "zero":
            return torch.zeros_like(x)
        return self.data.mean(0, keepdim=True).expand_as(x).to(x.device)

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        idx = np.random.default_rng(seed).choice(len(self.data), size=min(n, len(self.data)), replace=False)
        return self.data[idx].to(self.device)


def linear_tabular() -> TabularToy:
    """Logits [-z, z] with z = w . x + c and w non-zero only on RELEVANT features."""
    lin = nn.Linear(N_FEATURES, 2)
    w = torch.zeros(N_FEATURES)
    w[list(RELEVANT)] = torch.tensor([0.9, -0.7, 0.5])
    with torch.no_grad():
        lin.weight.copy_(torch.stack([-w, w]))
        lin.bias.copy_(torch.tensor([-0.1, 0.1]))
    return TabularToy(lin, "toy-linear")


def mlp_tabular() -> TabularToy:
    """A tanh MLP whose three hidden units read pairs of the RELEVANT features only."""
    net = nn.Sequential(nn.Linear(N_FEATURES, 3), nn.Tanh(), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.zero_()
        net[0].weight[0, [1, 4]] = torch.tensor([0.8, -0.6])
        net[0].weight[1, [4, 7]] = torch.tensor([0.5, 0.7])
        net[0].weight[2, [1, 7]] = torch.tensor([-0.4, 0.9])
        net[2].weight.copy_(torch.tensor([[-1.25, 1.0, -0.75], [1.25, -1.0, 0.75]]))
        net[2].bias.zero_()
    return TabularToy(net, "toy-mlp")


def closed_form(model: TabularToy, x: np.ndarray, target: int = 1) -> np.ndarray:
    """w * (x - mean): the exact contribution of each feature to the linear model's logit."""
    w = model.module.weight[target].detach().numpy().astype(np.float64)
    b = model.data.mean(0).numpy()
    return w * (np.asarray(x, dtype=np.float64) - b)


# ----------------------------------------------------------------- digits CNN (sklearn 8x8)
class DigitsNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 4 * 4, 24)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.relu(self.conv2(x))
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class DigitsToy(BaseAdapter):
    """sklearn's 8x8 digits (0..16) as a 1-channel image model with mean/zero baselines."""

    baseline_kinds = ("mean", "zero")

    def __init__(self, module: nn.Module, train_images: np.ndarray):
        info = ModelInfo("toy-digits", "image", tuple(str(i) for i in range(10)), input_size=(8, 8))
        super().__init__(module, info, device="cpu")
        self.train = torch.as_tensor(train_images, dtype=torch.float32)[:, None] / 16.0 - 0.3
        self.mean_image = self.train.mean(0, keepdim=True)

    def preprocess(self, raw: Any) -> torch.Tensor:
        arr = np.asarray(raw, dtype=np.float32)
        if arr.ndim == 3:  # H x W x 3 in 0..1 (display_image / 255)
            arr = arr.mean(-1) * 16.0
        return (torch.as_tensor(arr)[None, None] / 16.0 - 0.3).to(self.device)

    def display_image(self, raw: Any) -> np.ndarray:
        arr = np.asarray(raw, dtype=np.float32)
        arr = arr.mean(-1) * 16.0 if arr.ndim == 3 else arr
        grey = np.clip(arr / 16.0 * 255.0, 0, 255).round().astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        if kind == "zero":
            return torch.zeros_like(x)
        return self.mean_image.expand_as(x).to(x.device)

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        idx = np.random.default_rng(seed).choice(len(self.train), size=min(n, len(self.train)), replace=False)
        return self.train[idx].to(self.device)

    def conv_layers(self) -> dict[str, nn.Module]:
        return {"conv1": self.module.conv1, "conv2": self.module.conv2}


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled digits.csv.gz read directly (importing sklearn costs seconds)."""
    import importlib.util
    from pathlib import Path

    origin = importlib.util.find_spec("sklearn").origin
    table = np.loadtxt(Path(origin).parent / "datasets" / "data" / "digits.csv.gz", delimiter=",")
    return table[:, :64].reshape(-1, 8, 8).astype(np.float32), table[:, 64].astype(np.int64)


@functools.lru_cache(maxsize=1)
def _digits_trained() -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Train DigitsNet for a few seconds (full batch Adam); (weights, test images, labels, mean)."""
    images, labels = _load_digits()
    torch.manual_seed(0)
    net = DigitsNet()
    x = torch.as_tensor(images[:1500])[:, None] / 16.0 - 0.3
    y = torch.as_tensor(labels[:1500])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    with one_torch_thread():
        for _ in range(40):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    return net.state_dict(), images[1500:], labels[1500:], images[:1500]


def digits_model() -> tuple[DigitsToy, np.ndarray, np.ndarray]:
    """A fresh adapter over the trained weights, plus held-out images and labels."""
    state, images, labels, train = _digits_trained()
    net = DigitsNet()
    net.load_state_dict(state)
    return DigitsToy(net, train), images, labels


# ----------------------------------------------------------------- text
WORDS = ("[PAD]", "[CLS]", "[SEP]", "good", "great", "bad", "awful", "the", "movie", "was", "plot")


class BagNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(len(WORDS), 4)
        self.head = nn.Linear(4, 2)
        with torch.no_grad():
            self.embed.weight.zero_()
            for w, s in (("good", 1.0), ("great", 2.0), ("bad", -1.0), ("awful", -2.0)):
                self.embed.weight[WORDS.index(w), 0] = s
            self.embed.weight[:, 1] = 0.1
            self.head.weight.copy_(torch.tensor([[-3.0, 0, 0, 0], [3.0, 0, 0, 0]]))
            self.head.bias.zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids).sum(1))


class TextToy(BaseAdapter):
    """Whitespace tokens between [CLS] and [SEP]; sentiment from a few scored words."""

    pad_token_id = 0
    mask_token_id = None

    def __init__(self, pairs: bool = False) -> None:
        super().__init__(BagNet(), ModelInfo("toy-text", "text", ("negative", "positive")), device="cpu")
        self.embedding_layer = self.module.embed
        self.pairs = pairs  # word_ids group tokens two by two (as subword pieces would be)

    def tokens(self, raw: str) -> tuple[str, ...]:
        return ("[CLS]", *[w for w in raw.lower().split() if w in WORDS], "[SEP]")

    def word_ids(self, raw: str) -> list[int | None]:
        n = len(self.tokens(raw)) - 2
        return [None] + [i // 2 if self.pairs else i for i in range(n)] + [None]

    def preprocess(self, raw: str) -> torch.Tensor:
        return torch.tensor([[WORDS.index(t) for t in self.tokens(raw)]], device=self.device)


# ----------------------------------------------------------------- fusion (image + text)
class FusionNetToy(nn.Module):
    """Linear in both inputs: logit_pos = <w, image> + sum of token scores."""

    def __init__(self) -> None:
        super().__init__()
        self.pixels = nn.Linear(64, 2)
        self.embed = BagNet().embed
        with torch.no_grad():
            w = torch.linspace(-1.0, 1.0, 64)
            self.pixels.weight.copy_(torch.stack([-w, w]))
            self.pixels.bias.zero_()

    def forward(self, image: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        text = self.embed(ids)[..., 0].sum(1)
        return self.pixels(image.flatten(1)) + torch.stack([-text, text], dim=1)


class FusionToy(BaseAdapter):
    """Raw = {"image": 8x8 array in 0..1, "text": str}; preprocess -> (image [1,1,8,8], ids [1,T])."""

    baseline_kinds = ("black",)
    pad_token_id = 0
    mask_token_id = None

    def __init__(self) -> None:
        super().__init__(FusionNetToy(), ModelInfo("toy-fusion", "fusion", ("no", "yes")), device="cpu")
        self.embedding_layer = self.module.embed

    def tokens(self, raw: dict) -> tuple[str, ...]:
        return tuple(w for w in raw["text"].lower().split() if w in WORDS)

    def preprocess(self, raw: dict) -> tuple[torch.Tensor, torch.Tensor]:
        image = torch.as_tensor(np.asarray(raw["image"], dtype=np.float32))[None, None]
        return image, torch.tensor([[WORDS.index(t) for t in self.tokens(raw)]])

    def forward(self, image: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.module(image, ids)

    def baseline(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        return torch.zeros_like(x)

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        return torch.zeros(n, 1, 8, 8)


def fusion_closed_form(model: FusionToy, raw: dict, target: int = 1) -> dict[str, np.ndarray]:
    """Exact contributions to the target logit: w * pixel, and each token's score (PAD = 0)."""
    w = model.module.pixels.weight[target].detach().numpy().reshape(8, 8).astype(np.float64)
    ids = model.preprocess(raw)[1][0]
    scores = model.module.embed.weight[ids, 0].detach().numpy().astype(np.float64)
    sign = 1.0 if target == 1 else -1.0
    return {"image": w * np.asarray(raw["image"], dtype=np.float64), "text": sign * scores}

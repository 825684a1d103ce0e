"""Models layer: what a model is (adapters, built-in demo models, user model loading, device)."""
from models.base import (
    BaseAdapter,
    HasAttention,
    HasBaselines,
    HasEmbeddingLayer,
    HasImage,
    HasSamples,
    HasTargetLayer,
    ModelAdapter,
    ModelInfo,
)
from models.device import pick_device
from models.errors import (
    CancelledError,
    GlassboxError,
    InputError,
    ModelLoadError,
    UnknownNameError,
    UnsupportedError,
)
from models.registry import list_models, load_model, register

__all__ = [
    "BaseAdapter", "CancelledError", "GlassboxError", "HasAttention", "HasBaselines",
    "HasEmbeddingLayer", "HasImage", "HasSamples", "HasTargetLayer", "InputError", "ModelAdapter", "ModelInfo",
    "ModelLoadError", "UnknownNameError", "UnsupportedError", "list_models", "load_model",
    "pick_device", "register",
]

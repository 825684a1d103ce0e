"""Compression lab (models side): prune, quantize and distill a copy of a model into a new adapter."""
from models.compress.distill import DistillConfig, DistillResult, distill
from models.compress.prune import (
    channel_sparsity,
    prunable_layers,
    prune_adapter,
    prune_module,
    prune_sweep,
    sparsity,
)
from models.compress.quantize import MODES, cast, is_int8, quantize_adapter, quantize_int8
from models.compress.wrap import accuracy, count_parameters, predictions, wrap_compressed

__all__ = [
    "MODES", "DistillConfig", "DistillResult", "accuracy", "cast", "channel_sparsity",
    "count_parameters", "distill", "is_int8", "predictions", "prunable_layers", "prune_adapter",
    "prune_module", "prune_sweep", "quantize_adapter", "quantize_int8", "sparsity",
    "wrap_compressed",
]

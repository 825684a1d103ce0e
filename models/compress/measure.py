"""Size on disk (dense, sparse-encoded, zlib) and interleaved batch latency of models."""
from __future__ import annotations

import statistics
import time
import zlib
from typing import Any

import torch
from torch import nn

from models.base import ModelAdapter
from models.compress.wrap import as_batch, count_parameters, state_bytes
from models.errors import InputError

INDEX_BYTES = 4  # int32 column indices / row pointers in the CSR estimate


def _csr_bytes(t: torch.Tensor) -> int:
    """Bytes of a CSR encoding of t viewed as [rows, -1]: values + column indices + row pointers."""
    rows = t.shape[0] if t.dim() >= 2 else 1
    nnz = int(torch.count_nonzero(t))
    return nnz * (t.element_size() + INDEX_BYTES) + (rows + 1) * INDEX_BYTES


def size_report(module: nn.Module) -> dict[str, Any]:
    """bytes (torch.save), sparse_bytes (floating tensors stored as CSR where that is smaller),
    zlib_bytes (the saved bytes deflated), params and sparsity (zero fraction of float weights)."""
    raw = state_bytes(module)
    dense = sparse = zeros = total = 0
    for t in module.state_dict().values():
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.is_quantized:
            continue
        dense += t.numel() * t.element_size()
        sparse += min(t.numel() * t.element_size(), _csr_bytes(t))
        zeros += int((t == 0).sum())
        total += t.numel()
    return {"bytes": len(raw), "sparse_bytes": len(raw) - dense + sparse,
            "zlib_bytes": len(zlib.compress(raw, 6)), "params": count_parameters(module),
            "sparsity": zeros / total if total else 0.0}


def latency_batch(model: ModelAdapter, raws: list[Any], batch_size: int) -> tuple[torch.Tensor, ...]:
    """One batch of `batch_size` preprocessed inputs; when shapes differ (text), the first
    input repeated, so every model times the very same batch."""
    if not raws:
        raise InputError("latency needs at least one input")
    groups = as_batch(model, raws[:batch_size])
    idx, x = groups[0]
    if len(groups) == 1 and len(idx) == min(batch_size, len(raws)):
        reps = -(-batch_size // len(idx))
        return tuple(t.repeat(reps, *([1] * (t.dim() - 1)))[:batch_size] for t in x)
    return tuple(t[:1].repeat(batch_size, *([1] * (t.dim() - 1))) for t in x)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def _time_once(model: ModelAdapter, x: tuple[torch.Tensor, ...]) -> float:
    _sync(model.device)
    start = time.perf_counter()
    model.forward(*x)
    _sync(model.device)
    return time.perf_counter() - start


def latencies(models: list[ModelAdapter], raws: list[Any], batch_size: int = 32,
              runs: int = 7) -> list[list[float]]:
    """Seconds per batch for each model and round: the same batch, runs interleaved (the
    order alternates each round) after two warm-ups each, so load on the machine hits all
    alike; compare rounds pairwise (paired_ratio) rather than overall means."""
    if runs < 1:
        raise InputError(f"latency runs must be >= 1, got {runs}")
    batches = [latency_batch(m, raws, batch_size) for m in models]
    for _ in range(2):
        for m, x in zip(models, batches, strict=True):
            _time_once(m, x)
    times: list[list[float]] = [[] for _ in models]
    order = list(range(len(models)))
    for r in range(runs):
        for i in (order if r % 2 == 0 else order[::-1]):
            times[i].append(_time_once(models[i], batches[i]))
    return times


def paired_ratio(base: list[float], other: list[float]) -> float:
    """Median over rounds of other/base: each round's pair ran back to back under one load."""
    ratios = [o / b for b, o in zip(base, other, strict=True) if b > 0]
    return statistics.median(ratios) if ratios else float("nan")

"""Data-set batching over explainers.base.explain_batch: group by shape, size chunks, halve on OOM."""
from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from explainers.base import Attribution, explain, get_method
from explainers.base import explain_batch as core_batch
from explainers.batching import GRAD_FACTOR, per_sample_bytes, pick_batch, with_retry
from models.base import ModelAdapter

# On a CPU a forward over more samples than fit in cache is slower per sample (mnist-cnn, IG over
# 64 inputs at 3,200 samples per forward: 0.45x the per-input loop; at <= 64 samples: 1.0x), so
# there inputs per call are sized to CPU_FORWARD_BYTES; on a GPU free memory decides.
CPU_FORWARD_BYTES = int(os.environ.get("GLASSBOX_CPU_FORWARD_MB", "64")) << 20


def as_tuple(x: Any) -> tuple[torch.Tensor, ...]:
    return x if isinstance(x, tuple) else (x,)


def can_batch(model: ModelAdapter, name: str) -> bool:
    """Does this method explain many inputs of this model in one Captum call?"""
    m = get_method(name)
    return m.batchable and m.supports(model)


def samples_per_input(name: str, params: dict[str, Any], x: tuple[torch.Tensor, ...]) -> int:
    """Forward samples one input costs: IG's steps, occlusion's windows, else 1."""
    p = get_method(name).resolve({k: v for k, v in params.items() if k != "seed"})
    if name == "integrated_gradients":
        return int(p["n_steps"])
    if name == "occlusion" and x[0].ndim == 4:
        k = p["sliding_window_shapes"] or max(2, min(x[0].shape[-2:]) // 8)
        s = p["strides"] or max(1, k // 2)
        return math.prod((d - min(k, d)) // s + 1 for d in x[0].shape[-2:])
    return 1


def inputs_per_call(model: ModelAdapter, name: str, params: dict[str, Any],
                    x: tuple[torch.Tensor, ...], n: int) -> int:
    """How many of n inputs share one Captum call: free memory; on a CPU, cache-sized."""
    size = pick_batch(model, x, n, grad=True)
    if model.device.type != "cpu":
        return size
    cost = per_sample_bytes(model, x) * GRAD_FACTOR * samples_per_input(name, params, x)
    return int(max(1, min(size, CPU_FORWARD_BYTES // max(1, cost))))


def explain_many(model: ModelAdapter, raws: Sequence[Any], method: str, targets: Sequence[int],
                 xs: Sequence[Any] | None = None, **params: Any) -> list[Attribution]:
    """explain() for many inputs; rows equal per-input explain() (to float rounding).

    Batchable methods: inputs grouped by preprocessed shape (texts of one token count), each
    group in chunks (inputs_per_call) through explainers.base.explain_batch, a chunk halved on
    out-of-memory. Other methods: explain() one input at a time.
    """
    if not can_batch(model, method):
        return [explain(model, r, method, int(t), **params)
                for r, t in zip(raws, targets, strict=True)]
    xs = [as_tuple(model.preprocess(r) if xs is None else xs[i]) for i, r in enumerate(raws)]
    groups: dict[tuple, list[int]] = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(tuple(t.shape) for t in x), []).append(i)
    result: list[Attribution | None] = [None] * len(raws)
    for idx in groups.values():
        start = time.perf_counter()

        def go(size: int, idx: list[int] = idx) -> list[Attribution]:
            got: list[Attribution] = []
            for s in range(0, len(idx), size):
                part = idx[s: s + size]
                got += core_batch(model, [raws[i] for i in part], method,
                                  [int(targets[i]) for i in part], **params)
            return got

        got, _ = with_retry(go, inputs_per_call(model, method, params, xs[idx[0]], len(idx)))
        each = (time.perf_counter() - start) / len(idx)
        for i, a in zip(idx, got, strict=True):
            result[i] = replace(a, seconds=each)
    return [a for a in result if a is not None]

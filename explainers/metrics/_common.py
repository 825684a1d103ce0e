"""Shared helpers for trust scores: flattening maps, rank correlation, batched target outputs."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution, Explainer, Progress, get_method, resolve_target
from models.base import ModelAdapter
from models.errors import CancelledError, InputError

OUTPUTS = ("prob", "logit")


def flat(values: Any) -> np.ndarray:
    """An attribution's values as one float vector (fusion parts concatenated image, text)."""
    if isinstance(values, Attribution):
        values = values.values
    if isinstance(values, dict):
        return np.concatenate([np.asarray(values[k], dtype=np.float64).ravel() for k in sorted(values)])
    return np.asarray(values, dtype=np.float64).ravel()


def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps; 1.0 for identical maps, 0.0 if one is constant."""
    from scipy.stats import rankdata

    x, y = flat(a), flat(b)
    if x.shape != y.shape:
        raise InputError(f"maps of different sizes cannot be compared: {x.size} vs {y.size}")
    if np.array_equal(x, y):
        return 1.0
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else 0.0


def tick(progress: Progress | None, done: int, total: int) -> None:
    """Report progress; a callback that returns False (or raises CancelledError) stops the work."""
    if progress is not None and progress(done, total) is False:
        raise CancelledError(f"stopped by the progress callback at step {done} of {total}")


def check_output(output: str) -> str:
    if output not in OUTPUTS:
        raise InputError(f"output {output!r} is not one of {list(OUTPUTS)}")
    return output


def batch_size(x: tuple[torch.Tensor, ...], device: torch.device, cap: int = 64) -> int:
    """Rows per forward from the memory at hand (activations guessed at ~100x the input)."""
    per_row = max(1, sum(t[0].numel() * t.element_size() for t in x)) * 100
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = free // 4
    else:
        budget = 512 * 2**20
    return int(max(1, min(cap, budget // per_row)))


def chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def target_output(
    model: ModelAdapter, inputs: tuple[torch.Tensor, ...], target: int, output: str = "prob"
) -> torch.Tensor:
    """The model's output for `target` on a batch: softmax probability or logit, shape [B].
    A callable target (a language model's continuation score) scores the batch itself."""
    if callable(target):
        return target(inputs, output)
    with torch.no_grad():
        logits = model.forward(*inputs).float()
    if output == "prob":
        return torch.softmax(logits, dim=-1)[:, target]
    return logits[:, target]


def batched_outputs(
    model: ModelAdapter,
    build: Callable[[slice], tuple[torch.Tensor, ...]],
    n: int,
    target: int,
    *,
    output: str = "prob",
    size: int = 16,
    progress: Progress | None = None,
) -> np.ndarray:
    """Target outputs for n perturbed rows built slice by slice; halves the batch on GPU OOM."""
    out = np.empty(n, dtype=np.float64)
    start = 0
    while start < n:
        sl = slice(start, min(n, start + size))
        try:
            with model.lock:
                out[sl] = target_output(model, build(sl), target, output).cpu().numpy()
        except torch.cuda.OutOfMemoryError:
            if size == 1:
                raise
            torch.cuda.empty_cache()
            size = max(1, size // 2)
            continue
        start = sl.stop
        tick(progress, start, n)
    return out


def method_of(method: str | Explainer) -> Explainer:
    return get_method(method) if isinstance(method, str) else method


def run_method(
    model: ModelAdapter, raw: Any, method: str | Explainer, target: int | None, params: dict
) -> Attribution:
    """explain() for a registry name or an Explainer instance (same locking and target rules).

    Only the method's own parameters (and seed) are passed on: Attribution.params may also
    record derived values (e.g. a resolved noise level) that the method does not accept.
    """
    from explainers.base import explain

    clean = {k: v for k, v in params.items() if k in accepted(method)}
    if isinstance(method, str):
        return explain(model, raw, method, target=target, **clean)
    with model.lock:
        idx = resolve_target(model, raw, target)
        return method.explain(model, raw, idx, **clean)


def accepted(method: str | Explainer) -> set[str]:
    """Parameter names a method takes when re-run: its Param specs, seed and free extras."""
    m = method_of(method)
    generation = {"max_new_tokens", "contrast", "per_token", "spans"}  # language models' knobs
    return {p.name for p in m.params} | {"seed"} | set(m.free_params) | generation


def is_stochastic(method: str | Explainer) -> bool:
    return method_of(method).stochastic


def finite(x: float | None) -> float | None:
    """A JSON-safe float: NaN and infinities become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def as_list(a: Any, digits: int = 6) -> Any:
    """numpy -> nested lists of JSON-safe floats (NaN -> None), rounded to `digits`."""
    if a is None:
        return None
    return _clean(np.round(np.asarray(a, dtype=np.float64), digits).tolist())


def _clean(v: Any) -> Any:
    return [_clean(x) for x in v] if isinstance(v, list) else finite(v)

"""Memory-aware batch sizes, halve-and-retry on out-of-memory, progress counting and cancelling."""
from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

import torch

from models.errors import CancelledError

BUDGET_FRACTION = float(os.environ.get("GLASSBOX_MEMORY_FRACTION", "0.25"))
GRAD_FACTOR = 3.0  # a backward pass keeps activations and their gradients alive
MAX_BATCH = 4096
_PER_SAMPLE: weakref.WeakKeyDictionary[torch.nn.Module, dict[tuple, int]] = (
    weakref.WeakKeyDictionary()
)


def available_bytes(device: torch.device) -> int:
    """Free memory on the device: torch.cuda.mem_get_info on GPU, /proc/meminfo on CPU."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 << 30  # no /proc (macOS, Windows): assume 2 GiB


def _leaf_output_bytes(model: Any, x: tuple[torch.Tensor, ...], forward: Any = None) -> int:
    """Bytes of every leaf module's output for one sample (what a forward keeps alive)."""
    total = 0

    def hook(_m: torch.nn.Module, _i: Any, out: Any) -> None:
        nonlocal total
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()

    leaves = [m for m in model.module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            (forward or model.forward)(*(t[:1] for t in x))
    finally:
        for h in handles:
            h.remove()
    return total + sum(t[:1].numel() * t.element_size() for t in x)


def per_sample_bytes(model: Any, x: tuple[torch.Tensor, ...], forward: Any = None) -> int:
    """Activation bytes of one sample through the model (measured once per model and shape);
    `forward` runs x when it is not model.forward's input (fusion embeddings)."""
    key = (tuple(tuple(t.shape[1:]) for t in x), forward is not None)
    cache = _PER_SAMPLE.setdefault(model.module, {})
    if key not in cache:
        cache[key] = max(1, _leaf_output_bytes(model, x, forward))
    return cache[key]


def pick_batch(model: Any, x: tuple[torch.Tensor, ...], n: int, grad: bool = True,
               forward: Any = None) -> int:
    """How many of n samples to evaluate at once, from the free memory on the model's device."""
    if n <= 1:
        return 1
    need = per_sample_bytes(model, x, forward) * (GRAD_FACTOR if grad else 1.0)
    budget = available_bytes(model.device) * BUDGET_FRACTION
    return int(max(1, min(n, MAX_BATCH, budget // need)))


def is_oom(exc: BaseException) -> bool:
    """True for torch.cuda.OutOfMemoryError and allocator 'out of memory' RuntimeErrors."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", ())
    if oom_type and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def with_retry(fn: Callable[[int], Any], batch: int) -> tuple[Any, int]:
    """Call fn(batch); on out-of-memory halve the batch and retry. Returns (result, batch used)."""
    while True:
        try:
            return fn(batch), batch
        except (RuntimeError, MemoryError) as exc:
            if not (is_oom(exc) or isinstance(exc, MemoryError)) or batch <= 1:
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            batch = max(1, batch // 2)


class Counter:
    """Counts evaluated samples, reports progress(done, total), cancels when asked."""

    def __init__(self, total: int, progress: Callable[[int, int], Any] | None = None):
        self.total = max(1, int(total))
        self.done = 0
        self.progress = progress

    def add(self, n: int) -> None:
        self.done += int(n)
        self.report(min(self.done, self.total))

    def report(self, done: int) -> None:
        if self.progress is not None and self.progress(done, self.total) is False:
            raise CancelledError(f"cancelled by the progress callback at {done}/{self.total}")

    def finish(self) -> None:
        self.report(self.total)


def counting(forward: Callable[..., torch.Tensor], counter: Counter) -> Callable[..., torch.Tensor]:
    """Wrap a forward function so every call adds its batch size to the counter."""

    def wrapped(*args: Any, **kwargs: Any) -> torch.Tensor:
        out = forward(*args, **kwargs)
        counter.add(out.shape[0] if out.ndim else 1)
        return out

    return wrapped


def chunked(forward: Callable[..., torch.Tensor], batch: int) -> Callable[..., torch.Tensor]:
    """A forward splitting a large batch into pieces of `batch` rows (SHAP calls in one shot)."""

    def wrapped(*xs: torch.Tensor) -> torch.Tensor:
        n = xs[0].shape[0]
        if n <= batch:
            return forward(*xs)
        outs = [forward(*(t[i: i + batch] for t in xs)) for i in range(0, n, batch)]
        return torch.cat(outs)

    return wrapped

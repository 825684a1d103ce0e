"""Many inputs per Captum call: a batched Ctx that the method classes run unchanged, then split."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from explainers import baselines as bl
from explainers.base import Attribution, explain, get_method, model_guard
from explainers.batching import GRAD_FACTOR, per_sample_bytes, pick_batch, with_retry
from explainers.methods._common import Ctx, Method
from models.base import ModelAdapter

# methods whose Captum batch argument counts samples over all inputs (internal_batch_size);
# the others' (perturbations_per_eval) counts perturbations per input
TOTAL_BATCH = frozenset({"integrated_gradients"})
BATCH_MODALITIES = frozenset({"image", "text", "tabular"})
# On a CPU, a forward over more samples than fit in cache is slower per sample (measured on
# mnist-cnn: IG over 64 inputs at 3,200 samples per forward ran at 0.45x the per-input loop,
# at 64 samples per forward at 1.0x); GPUs take the memory-picked batch.
CPU_FORWARD_BYTES = int(os.environ.get("GLASSBOX_CPU_FORWARD_MB", "64")) << 20


def limit(model: ModelAdapter, x: tuple[torch.Tensor, ...], n: int, grad: bool = True) -> int:
    """pick_batch (free memory), capped on a CPU at what fits CPU_FORWARD_BYTES."""
    size = pick_batch(model, x, n, grad)
    if model.device.type != "cpu":
        return size
    need = per_sample_bytes(model, x) * (GRAD_FACTOR if grad else 1.0)
    return int(max(1, min(size, CPU_FORWARD_BYTES // need)))


class PerInput(list):
    """A keyword value of finish() that holds one entry per input (e.g. IG's delta)."""


def method_class(name: str) -> Any:
    """The registered Method behind a key (fusion dispatch unwrapped)."""
    m = get_method(name)
    return m.__dict__.get("inner") or m


def can_batch(model: ModelAdapter, name: str) -> bool:
    """Does this method explain many inputs of this model in one Captum call?"""
    m = method_class(name)
    return (isinstance(m, Method) and bool(getattr(m, "batchable", False))
            and model.info.modality in BATCH_MODALITIES and m.supports(model))


def as_tuple(x: Any) -> tuple[torch.Tensor, ...]:
    return x if isinstance(x, tuple) else (x,)


@dataclass
class BatchCtx(Ctx):
    """A Ctx over B inputs: x is [B, ...], target a list of B class indices."""

    raws: list[Any] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.raws)

    def first(self) -> tuple[torch.Tensor, ...]:
        return tuple(t[:1] for t in self.x)

    def forward(self, total: int) -> Callable[..., torch.Tensor]:
        return super().forward(total * self.n)

    def baseline(self) -> torch.Tensor:
        """Each input's own baseline (as explain() builds it), stacked."""
        kind = bl.resolve_kind(self.model, self.p["baselines"])
        self.used["baselines"] = kind
        custom = self.free.get("custom_baseline")
        return torch.cat([bl.make_baseline(self.model, raw, self.x[0][i: i + 1], kind, custom)
                          for i, raw in enumerate(self.raws)])

    def batch(self, n: int, grad: bool = True) -> int:
        total = limit(self.model, self.first(), n * self.n, grad)
        if self.method.name in TOTAL_BATCH:
            return max(self.n, total)
        return max(1, total // self.n)

    def retry(self, fn: Callable[[int], Any], n: int, grad: bool = True) -> Any:
        out, used = with_retry(fn, self.batch(n, grad))
        self.used["batch_size"] = used
        return out

    def _pick(self, out: torch.Tensor) -> torch.Tensor:
        idx = torch.arange(out.shape[0], device=out.device)
        return out[idx, torch.as_tensor(self.target, device=out.device)].float()

    @torch.no_grad()
    def logit(self, x: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
        if x is None:
            if self.out is None:
                self.out = self._pick(self.model.forward(*self.x))
            return self.out
        return self._pick(self.model.forward(*x))

    @torch.no_grad()
    def delta(self, attr: Any, base: torch.Tensor) -> PerInput:  # type: ignore[override]
        """Per-input |sum(attr_i) - (f(x_i) - f(baseline_i))| from one forward over [x, base]."""
        out = self.model.forward(torch.cat([self.x[0], base.to(self.x[0].dtype)]))
        self.out = self._pick(out[: self.n])
        gap = (self.out - self._pick(out[self.n:])).double().cpu()
        parts = attr if isinstance(attr, tuple) else (attr,)
        sums = sum(a.detach().double().reshape(self.n, -1).sum(1).cpu() for a in parts)
        return PerInput((sums - gap).abs().tolist())

    def finish(self, attr: Any, channels: str = "sum", **kw: Any) -> list[Attribution]:  # type: ignore[override]
        """One Attribution per input, through the single-input Ctx.finish."""
        if self.counter is not None:
            self.counter.finish()
        self.logit()
        kw.pop("extras", None)  # method extras (e.g. Grad-CAM's small map): explain() only
        out = []
        for i, raw in enumerate(self.raws):
            one = Ctx(method=self.method, model=self.model, raw=raw, target=int(self.target[i]),
                      p=self.p, seed=self.seed, x=tuple(t[i: i + 1] for t in self.x),
                      free=self.free, used=dict(self.used), out=self.out[i: i + 1])
            kw_i = {k: (v[i] if isinstance(v, PerInput) else v) for k, v in kw.items()}
            out.append(Ctx.finish(one, _row(attr, i), channels, **kw_i))
        return out


def _row(attr: Any, i: int) -> Any:
    if isinstance(attr, tuple):
        return tuple(a[i: i + 1] for a in attr)
    return attr[i: i + 1]


def _run(method: Method, model: ModelAdapter, raws: list[Any], xs: list[tuple],
         targets: list[int], params: dict[str, Any]) -> list[Attribution]:
    """One Captum call over these inputs (all of one shape)."""
    p = method.resolve(params)
    free = {k: params[k] for k in method.free_params if k in params}
    x = tuple(torch.cat([xi[k] for xi in xs]) for k in range(len(xs[0])))
    ctx = BatchCtx(method=method, model=model, raw=raws[0], target=list(targets), p=p,
                   seed=int(params.get("seed", 0)), x=x, progress=params.get("progress"),
                   free=free, raws=list(raws))
    with torch.enable_grad():
        return method.run(ctx)


def explain_batch(model: ModelAdapter, raws: Sequence[Any], method: str,
                  targets: Sequence[int], xs: Sequence[Any] | None = None,
                  **params: Any) -> list[Attribution]:
    """explain() for many inputs: batched Captum calls where the method can, else one by one.

    Inputs are grouped by preprocessed shape (texts of one token count batch exactly); each
    group runs in chunks whose size comes from free memory, halved on out-of-memory.
    """
    if not can_batch(model, method):
        return [explain(model, r, method, int(t), **params) for r, t in zip(raws, targets,
                                                                              strict=True)]
    m = method_class(method)
    with model.lock, model_guard(model):
        xs = [as_tuple(model.preprocess(r)) if xs is None else as_tuple(xs[i])
              for i, r in enumerate(raws)]
        groups: dict[tuple, list[int]] = {}
        for i, x in enumerate(xs):
            groups.setdefault(tuple(tuple(t.shape) for t in x), []).append(i)
        result: list[Attribution | None] = [None] * len(raws)
        for idx in groups.values():
            start = time.perf_counter()
            first = xs[idx[0]]
            chunk = limit(model, first, len(idx), grad=True)

            def go(size: int, idx: list[int] = idx) -> list[Attribution]:
                got: list[Attribution] = []
                for s in range(0, len(idx), size):
                    part = idx[s: s + size]
                    got += _run(m, model, [raws[i] for i in part], [xs[i] for i in part],
                                [int(targets[i]) for i in part], params)
                return got

            got, _ = with_retry(go, chunk)
            each = (time.perf_counter() - start) / len(idx)
            for i, a in zip(idx, got, strict=True):
                result[i] = replace(a, seconds=each)
    return [a for a in result if a is not None]


"""Attention on a language model: weights over prompt + continuation (causal), and what the
positions that write the continuation read from the prompt."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Attribution
from explainers.batching import Counter
from explainers.generation.forward import gather
from explainers.generation.result import finish
from explainers.generation.setup import Setup, of
from models.errors import InputError, UnsupportedError


def _full_ids(s: Setup) -> torch.Tensor:
    if s.contrast is not None:
        raise InputError("attention methods do not take contrast= (attention does not depend "
                         "on the target); use a gradient or perturbation method")
    return torch.cat([s.ids, s.target[None]], dim=1)


def attention_weights(ctx: Any) -> torch.Tensor:
    """[layers, heads, N, N] over the prompt followed by the continuation (N = T + n)."""
    ids = _full_ids(of(ctx))
    with torch.no_grad():
        att = ctx.model.attention(ids).detach().float()
    if att.ndim != 4 or att.shape[-1] != ids.shape[1]:
        raise UnsupportedError(f"attention() returned {list(att.shape)}; expected [L, H, N, N]")
    return att


def attention_and_grads(ctx: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention [L, H, N, N] and d log p(continuation) / d attention, one forward + backward."""
    s = of(ctx)
    ids = _full_ids(s)
    model = ctx.model
    ctx.counter = Counter(2, ctx.progress)
    hook = model.embedding_layer.register_forward_hook(
        lambda _m, _i, o: o.detach().requires_grad_(True))  # frozen weights: a leaf to grad from
    try:
        out = model.module(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False,
                           output_attentions=True)
    finally:
        hook.remove()
    att = list(out.attentions)
    if not att:
        raise UnsupportedError(f"{model.info.name} returned no attention weights")
    n = len(s.target)
    logp = gather(out.logits[:, s.ids.shape[1] - 1: s.ids.shape[1] - 1 + n], [s.target], 1)[0]
    ctx.counter.add(1)
    grads = torch.autograd.grad(logp.sum(), att)
    stack = lambda ts: torch.stack([t[0] for t in ts]).detach().float()  # noqa: E731
    return stack(att), stack(grads)


def attention_result(ctx: Any, matrix: torch.Tensor, extras: dict[str, Any]) -> Attribution:
    """From an [N, N] matrix (one layer/head mean, or a rollout): row T-1+k is the position
    that writes continuation token k; its weights on the prompt are token_attr[k], their mean
    the values."""
    s = of(ctx)
    t, n = s.ids.shape[1], len(s.target)
    rows = matrix[t - 1: t - 1 + n, :t]
    extras = {k: (v.cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in extras.items()}
    extras["sequence_tokens"] = (*s.tokens, *_cont_tokens(ctx, s))
    return finish(ctx, s, rows.mean(0), rows, how="sum", extras=extras)


def _cont_tokens(ctx: Any, s: Setup) -> tuple[str, ...]:
    from explainers.generation.result import pretty

    return pretty(ctx.model, s.target)


def is_causal(att: np.ndarray, atol: float = 1e-6) -> bool:
    """No weight above the diagonal: no position reads a later one."""
    upper = np.triu(np.ones(att.shape[-2:], dtype=bool), k=1)
    return bool(np.abs(np.asarray(att)[..., upper]).max(initial=0.0) <= atol)

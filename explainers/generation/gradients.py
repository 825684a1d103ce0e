"""Gradient methods on a language model (input embeddings): integrated gradients, saliency,
input x gradient. Captum's integration nodes; the gradients of every continuation token's
log-probability come from one shared forward per batch of points (Captum's
LLMGradientAttribution runs one full attribution per continuation token): same numbers."""
from __future__ import annotations

from typing import Any

import torch

from explainers.base import Attribution
from explainers.batching import Counter, is_oom, with_retry
from explainers.generation.forward import logprobs_embeds
from explainers.generation.result import finish, rows_that_fit, to_units
from explainers.generation.setup import Setup, of


def outputs(model: Any, s: Setup, pts: torch.Tensor, per_token: bool) -> torch.Tensor:
    """[B, rows]: per-token log-probs (target tokens, then contrast tokens) or the sequence
    objective log p(target) - log p(contrast) as one row."""
    lps = logprobs_embeds(model, pts.to(model.embedding_layer.weight.dtype), s.conts())
    if per_token:
        return torch.cat(lps, dim=1)
    seq = lps[0].sum(1) - (lps[1].sum(1) if len(lps) > 1 else 0.0)
    return seq[:, None]


def _vjps(out: torch.Tensor, pts: torch.Tensor, weights: torch.Tensor, vmap: bool
          ) -> torch.Tensor:
    """sum_b weights[b] * d out[b, r] / d pts[b] for every row r: [rows, T, D]."""
    r = out.shape[1]
    if r == 1 or not vmap:
        grads = [torch.autograd.grad(out[:, k].sum(), pts, retain_graph=k < r - 1)[0]
                 for k in range(r)]
        return torch.stack([(g * weights[:, None, None]).sum(0) for g in grads])
    eye = torch.eye(r, dtype=out.dtype, device=out.device)[:, None, :].expand(r, *out.shape)
    g = torch.autograd.grad(out, pts, eye, is_grads_batched=True)[0]  # [rows, B, T, D]
    return torch.einsum("rbtd,b->rtd", g, weights.to(g.dtype))


def path_gradients(ctx: Any, s: Setup, start: torch.Tensor, end: torch.Tensor,
                   alphas: list[float], weights: list[float], per_token: bool) -> torch.Tensor:
    """sum_i w_i * grad(rows)(start + a_i (end - start)): [rows, T, D], batched from memory."""
    model = ctx.model
    a = torch.tensor(alphas, dtype=start.dtype, device=start.device)
    w = torch.tensor(weights, dtype=torch.float32, device=start.device)
    tokens = (s.ids.shape[1] + max(len(c) for c in s.conts())) * len(s.conts())
    n_rows = sum(len(c) for c in s.conts()) if per_token else 1
    ctx.counter = Counter(len(alphas), ctx.progress)

    def go(batch: int) -> torch.Tensor:
        total, vmap = None, batch * n_rows <= 4096
        for i in range(0, len(alphas), batch):
            pts = (start + a[i: i + batch, None, None] * (end - start)).detach()
            pts.requires_grad_(True)
            out = outputs(model, s, pts, per_token)
            try:
                part = _vjps(out, pts, w[i: i + batch], vmap)
            except RuntimeError as exc:  # an op without a batching rule: one backward per row
                if is_oom(exc) or not vmap:
                    raise
                vmap = False
                part = _vjps(outputs(model, s, pts, per_token), pts, w[i: i + batch], False)
            total = part.float() if total is None else total + part.float()
            ctx.counter.add(pts.shape[0])
        return total

    grads, used = with_retry(go, rows_that_fit(model, tokens, len(alphas), grad=True))
    ctx.used["batch_size"] = used
    return grads


def combine(s: Setup, rows: torch.Tensor, per_token: bool) -> tuple[torch.Tensor, Any, Any]:
    """[rows, T, D] -> (sequence [T, D], target rows [n, T, D] | None, contrast rows | None)."""
    if not per_token:
        return rows[0], None, None
    n = len(s.target)
    target, contrast = rows[:n], rows[n:]
    seq = target.sum(0) - (contrast.sum(0) if len(contrast) else 0.0)
    return seq, target, (contrast if len(contrast) else None)


def embeddings(model: Any, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.embedding_layer(ids)[0].float()


def integrated_gradients(ctx: Any) -> Attribution:
    """IG from the baseline tokens' embeddings to the prompt's, per continuation token."""
    from captum.attr._utils.approximation_methods import approximation_parameters

    s = of(ctx)
    n, rule, per_token = ctx.p["n_steps"], ctx.p["integration_method"], ctx.p["per_token"]
    step_sizes, alphas = approximation_parameters(rule)
    x = embeddings(ctx.model, s.ids)
    base = embeddings(ctx.model, torch.full_like(s.ids, s.baseline_id))
    rows = path_gradients(ctx, s, base, x, alphas(n), step_sizes(n), per_token)
    seq, target, contrast = combine(s, rows * (x - base), per_token)
    delta = abs(float(seq.sum()) - _gain(ctx.model, s, base, x))
    return _done(ctx, s, seq.sum(-1), target, contrast, delta=delta)


@torch.no_grad()
def _gain(model: Any, s: Setup, base: torch.Tensor, x: torch.Tensor) -> float:
    """f(prompt) - f(baseline) of the sequence objective (IG's completeness target)."""
    f = outputs(model, s, torch.stack([x, base]), False)
    return float(f[0, 0] - f[1, 0])


def gradient(ctx: Any, times_input: bool) -> Attribution:
    """Saliency (|gradient| or gradient, summed over the embedding) or input x gradient."""
    s = of(ctx)
    per_token = ctx.p["per_token"]
    x = embeddings(ctx.model, s.ids)
    rows = path_gradients(ctx, s, x, x, [1.0], [1.0], per_token)
    seq, target, contrast = combine(s, rows, per_token)
    if times_input:
        f = lambda g: g * x  # noqa: E731
    else:
        f = (lambda g: g.abs()) if ctx.p["abs"] else (lambda g: g)  # noqa: E731
    return _done(ctx, s, f(seq).sum(-1), None if target is None else f(target),
                 None if contrast is None else f(contrast))


def _done(ctx: Any, s: Setup, seq: torch.Tensor, target: Any, contrast: Any,
          **kw: Any) -> Attribution:
    extras = {}
    if contrast is not None:
        extras["contrast_token_attr"] = to_units(s, contrast.sum(-1), "sum")
    token = None if target is None else target.sum(-1)
    return finish(ctx, s, seq, token, how="sum", extras=extras, **kw)

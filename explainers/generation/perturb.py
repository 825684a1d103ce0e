"""Perturbation methods on a language model: Captum's own FeatureAblation/Lime/KernelShap/
ShapleyValueSampling over the prompt tokens, every perturbed prompt + continuation batched."""
from __future__ import annotations

from typing import Any

import torch

from explainers.base import Attribution
from explainers.batching import Counter, counting, with_retry
from explainers.generation.forward import logprobs_ids
from explainers.generation.result import finish, rows_that_fit
from explainers.generation.setup import Setup, of

PER_TOKEN = ("FeatureAblation", "ShapleyValueSampling", "ShapleyValues")  # as LLMAttribution


def interpretable_forward(model: Any, s: Setup, per_token: bool):
    """Captum's LLMAttribution forward, batched: presence rows [B, T] (1 keeps a token, anything
    else puts the baseline token there) -> [B, 1 + n] (total log-prob, then per token) or [B]."""
    conts = s.conts()

    @torch.no_grad()
    def forward(presence: torch.Tensor) -> torch.Tensor:
        rows = presence.reshape(-1, s.ids.shape[1])
        ids = torch.where(rows != 1, torch.full_like(s.ids, s.baseline_id), s.ids)
        lps = logprobs_ids(model, ids, conts)
        seq = lps[0].sum(1) - (lps[1].sum(1) if len(lps) > 1 else 0.0)
        return torch.cat([seq[:, None], lps[0]], dim=1) if per_token else seq

    return forward


def perturb(ctx: Any, cls: type) -> Attribution:
    """One Captum perturbation method over the prompt (units = tokens, words or spans)."""
    s = of(ctx)
    per_token = cls.__name__ in PER_TOKEN
    n = ctx.p.get("n_samples")
    evals = (s.n_units if n is None else n) + 1
    ctx.counter = Counter(evals, ctx.progress)
    algo = cls(counting(interpretable_forward(ctx.model, s, per_token), ctx.counter))
    inp = torch.ones_like(s.ids)  # Captum's TextTokenInput.to_tensor(): all tokens present
    mask = torch.as_tensor(s.groups, device=s.ids.device)[None] if s.grouped else None
    kw = {} if n is None else {"n_samples": n}
    tokens = s.ids.shape[1] + max(len(c) for c in s.conts())
    rows = rows_that_fit(ctx.model, tokens * len(s.conts()), evals - 1, grad=False)

    def go(batch: int) -> torch.Tensor:
        return algo.attribute(inp, feature_mask=mask, perturbations_per_eval=batch, **kw)

    attr, used = with_retry(go, rows)
    ctx.used["batch_size"] = used
    attr = attr.reshape(-1, s.ids.shape[1])
    token = attr[1:] if per_token else None
    return finish(ctx, s, attr[0], token, how="first")

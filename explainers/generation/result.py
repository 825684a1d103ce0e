"""Generation results: prompt attributions grouped into units, the Attribution, the memory fit."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Attribution
from explainers.batching import BUDGET_FRACTION, MAX_BATCH, available_bytes
from explainers.generation.forward import logprobs_ids
from explainers.generation.setup import Setup


def to_units(s: Setup, attr: torch.Tensor | np.ndarray, how: str) -> np.ndarray:
    """[..., T] token attributions -> [..., n_units]: 'sum' (gradients, attention) or 'first'
    (perturbation with a feature mask: every token of a unit already carries the unit's value)."""
    a = attr.detach().double().cpu().numpy() if isinstance(attr, torch.Tensor) else \
        np.asarray(attr, dtype=np.float64)
    if not s.grouped:
        return a
    if how == "first":
        first = np.array([int(np.flatnonzero(s.groups == g)[0]) for g in range(s.n_units)])
        return a[..., first]
    out = np.zeros((*a.shape[:-1], s.n_units))
    for g in range(s.n_units):
        out[..., g] = a[..., s.groups == g].sum(-1)
    return out


@torch.no_grad()
def score(model: Any, s: Setup) -> float:
    """log p(target | prompt), minus log p(contrast | prompt) for a contrastive target."""
    lps = logprobs_ids(model, s.ids, s.conts())
    out = float(lps[0].sum())
    return out - float(lps[1].sum()) if s.contrast is not None else out


def pretty(model: Any, ids: torch.Tensor) -> tuple[str, ...]:
    """Display text of each continuation token."""
    from models.builtin.causal_lm import clean_token

    return tuple(clean_token(t) for t in model.tokenizer.convert_ids_to_tokens(ids.tolist()))


def finish(ctx: Any, s: Setup, seq: Any, token: Any = None, how: str = "sum",
           **kw: Any) -> Attribution:
    """The Attribution of a generation call: values [n_units], token_attr [n_out, n_units]."""
    if ctx.counter is not None:
        ctx.counter.finish()
    extras = dict(kw.pop("extras", {}))
    extras["output_tokens"] = pretty(ctx.model, s.target)
    extras["target_ids"] = s.target.tolist()
    extras["prompt_tokens"] = s.tokens
    if token is not None:
        extras["token_attr"] = to_units(s, token, how)
    if s.contrast is not None:
        extras["contrast"] = s.contrast_text
        extras["contrast_tokens"] = pretty(ctx.model, s.contrast)
        extras["contrast_ids"] = s.contrast.tolist()
    if s.grouped:
        extras["groups"] = s.groups.copy()
    if "batch_size" in ctx.used:
        extras["batch_size"] = ctx.used["batch_size"]
    params = dict(ctx.p)
    params.update({k: v for k, v in ctx.used.items() if k != "batch_size"})
    params["seed"] = ctx.seed
    if "spans" in ctx.free:
        params["spans"] = [list(span) for span in _spans(s)]
    info = ctx.model.info
    return Attribution(values=to_units(s, seq, how), units=s.units, method=ctx.method.name,
                       target=-1, target_label=s.target_text, params=params, extras=extras,
                       model_name=info.name, modality=info.modality,
                       output=score(ctx.model, s), **kw)


def _spans(s: Setup) -> list[tuple[int, int]]:
    out = []
    for g in range(s.n_units):
        idx = np.flatnonzero(s.groups == g)
        if len(idx) > 1:
            out.append((int(idx[0]), int(idx[-1]) + 1))
    return out


def rows_that_fit(model: Any, tokens: int, n: int, grad: bool) -> int:
    """How many sequences of `tokens` tokens fit in one forward (the adapter's estimate)."""
    if n <= 1:
        return 1
    est = getattr(model, "memory_bytes", None)
    weights = getattr(model, "weight_bytes", lambda: 0)()
    per_row = (est(1, tokens) - weights) if callable(est) else tokens * 1_000_000
    per_row = max(1, per_row if grad else per_row // 2)
    budget = available_bytes(model.device) * BUDGET_FRACTION
    return int(max(1, min(n, MAX_BATCH, budget // per_row)))

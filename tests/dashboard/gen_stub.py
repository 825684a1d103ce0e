"""A tiny random GPT-2 (the real CausalLMAdapter, built from config) and checkable per-token
occlusion and attention methods, so the generation view is tested without review-gpt or Captum."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers import Attribution, Explainer, Param
from models import ModelInfo


def token_log_probs(model: Any, prompt_ids: torch.Tensor, cont_ids: list[int]) -> np.ndarray:
    """log p(each continuation token | prompt, earlier ones) [batch, n_out] for a batch."""
    cont = torch.tensor([cont_ids] * prompt_ids.shape[0])
    ids = torch.cat([prompt_ids, cont], dim=1)
    with torch.no_grad():
        logp = torch.log_softmax(model.forward(ids), dim=-1)
    n = prompt_ids.shape[1]
    rows = logp[:, n - 1:n - 1 + len(cont_ids)]
    return rows.gather(-1, cont[..., None])[..., 0].numpy()


def stub_gpt() -> Any:
    """The real CausalLMAdapter over a tiny random GPT-2 (64 positions) built from config."""
    from models.builtin.causal_lm import CausalLMAdapter
    from tests.models.lm_fixtures import build

    module, tok = build("gpt2")
    info = ModelInfo("stub-gpt", "generation", (), description="tiny random GPT-2")
    return CausalLMAdapter(module, tok, info, "cpu")


def occlusion(model: Any, prompt: str, continuation: str) -> np.ndarray:
    """token_attr [n_out, n_prompt]: the drop in log p of each continuation token when one prompt
    token is replaced by the pad token (one batched forward)."""
    ids = model.encode(prompt)
    cont = model.continuation_ids(continuation)
    n = ids.shape[1]
    masked = ids.repeat(n, 1)
    masked[torch.arange(n), torch.arange(n)] = model.pad_token_id
    full = token_log_probs(model, ids, cont)[0]
    return (full[None, :] - token_log_probs(model, masked, cont)).T


def output_tokens(model: Any, continuation: str) -> tuple[str, ...]:
    return tuple(model.tokenizer.decode([i]) for i in model.continuation_ids(continuation))


class StubGenOcclusion(Explainer):
    """Per-token occlusion on a generation model (the dashboard-facing result shape)."""

    name = "stub_gen_occlusion"
    label = "Stub occlusion"
    modalities = frozenset({"generation"})
    params = (Param("scale", "float", 1.0, "multiplies the scores", 0.0, 10.0, 0.5),
              Param("contrast", "str", "", "explain target rather than this continuation"),
              Param("max_new_tokens", "int", 8, "greedy continuation length", 1, 64))

    def explain(self, model: Any, raw: Any, target: Any, **params: Any) -> Attribution:
        p = self.resolve(params)
        continuation = target if isinstance(target, str) else model.generate(
            raw, p["max_new_tokens"])
        m = occlusion(model, raw, continuation) * p["scale"]
        if p["contrast"]:
            other = occlusion(model, raw, p["contrast"]).sum(axis=0) * p["scale"]
            values = m.sum(axis=0) - other
        else:
            values = m.sum(axis=0)
        out = output_tokens(model, continuation)
        progress = params.get("progress")
        if progress is not None:
            progress(1, 1)
        return Attribution(values, model.tokens(raw), self.name, -1, continuation, p,
                           extras={"token_attr": m, "output_tokens": out},
                           output=model.log_prob(raw, continuation))


class StubGenAttention(Explainer):
    """Raw attention weights over prompt + continuation (values: last position's mean row)."""

    name = "stub_gen_attention"
    label = "Stub attention"
    modalities = frozenset({"generation"})

    def explain(self, model: Any, raw: Any, target: Any, **params: Any) -> Attribution:
        continuation = target if isinstance(target, str) else model.generate(raw, 8)
        n = model.encode(raw).shape[1]
        cont = model.continuation_ids(continuation)
        ids = torch.cat([model.encode(raw), torch.tensor([cont])], dim=1)
        att = model.attention(ids).numpy()
        mean = att.mean(axis=(0, 1))
        out = output_tokens(model, continuation)
        return Attribution(mean[n - 1, :n], model.tokens(raw), self.name, -1, continuation, {},
                           extras={"token_attr": mean[n - 1:n - 1 + len(cont), :n],
                                   "output_tokens": out, "attention": att})

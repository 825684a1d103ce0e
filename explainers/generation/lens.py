"""Logit lens: the most likely next tokens read out of every layer's residual stream."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.errors import InputError, UnsupportedError


@dataclass(frozen=True)
class LogitLens:
    """probs[l, t, j]: probability of the j-th most likely next token after position t, read
    out at layer l (0 = embeddings, last = the model's output); tokens[l][t][j] its text."""

    probs: np.ndarray  # [layers + 1, T, k]
    token_ids: np.ndarray  # [layers + 1, T, k]
    tokens: list[list[list[str]]]  # [layers + 1][T][k]
    input_tokens: tuple[str, ...]  # [T]: the tokens read (position t predicts token t + 1)
    layers: tuple[str, ...]  # "embeddings", "layer 1", ..., "output"

    def to_dict(self) -> dict[str, Any]:
        return {"probs": np.round(self.probs, 6).tolist(), "token_ids": self.token_ids.tolist(),
                "tokens": self.tokens, "input_tokens": list(self.input_tokens),
                "layers": list(self.layers)}


def logit_lens(model: Any, prompt: str, k: int = 5, continuation: str | None = None
               ) -> LogitLens:
    """Top-k next tokens at every layer and position of the prompt (+ continuation, if given)."""
    from models.builtin.causal_lm import clean_token

    if not 1 <= int(k) <= 50:
        raise InputError(f"k must be in 1..50, got {k!r}")
    if not callable(getattr(model, "logit_lens", None)):
        raise UnsupportedError(f"the logit lens needs a language model; {model.info.name} is "
                               f"{model.info.modality}")
    ids = model.encode(prompt)
    if continuation:
        cont = torch.tensor([model.continuation_ids(continuation)], device=ids.device)
        ids = torch.cat([ids, cont], dim=1)[:, : model.context_length]
    with model.lock, torch.no_grad():
        logp = model.logit_lens(ids)  # [L + 1, T, vocab]
    top = torch.topk(logp.float(), int(k), dim=-1)
    probs = top.values.exp().cpu().numpy()
    token_ids = top.indices.cpu().numpy()
    pieces = model.tokenizer.convert_ids_to_tokens
    tokens = [[[clean_token(p) for p in pieces(row.tolist())] for row in layer]
              for layer in token_ids]
    n = probs.shape[0]
    names = ("embeddings", *(f"layer {i}" for i in range(1, n - 1)), "output")
    read = tuple(clean_token(p) for p in pieces(ids[0].tolist()))
    return LogitLens(probs, token_ids, tokens, read, names)

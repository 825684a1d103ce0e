"""Batched continuation log-probabilities: every prompt row x every continuation in one forward."""
from __future__ import annotations

import inspect
import weakref
from typing import Any

import torch


def _keeps_logits(module: torch.nn.Module) -> bool:
    """Does the Hugging Face model take logits_to_keep (skip the LM head on prompt positions)?"""
    try:
        return "logits_to_keep" in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False


def lm_logits(model: Any, keep: int, ids: torch.Tensor | None = None,
              embeds: torch.Tensor | None = None) -> torch.Tensor:
    """Logits of the last `keep` positions [B, keep, vocab] from token ids or input embeddings."""
    module = model.module
    x = ids if ids is not None else embeds
    mask = torch.ones(x.shape[:2], dtype=torch.long, device=x.device)
    kw: dict[str, Any] = {"attention_mask": mask, "use_cache": False}
    if _keeps_logits(module):
        kw["logits_to_keep"] = keep
    if ids is not None:
        out = module(input_ids=ids, **kw)
    else:
        out = module(inputs_embeds=embeds, **kw)
    logits = out.logits
    logits = logits[:, 0] if logits.dim() == 4 else logits  # Llama4-style [B, 1, T, V]
    return logits[:, -keep:]


def tails(model: Any, conts: list[torch.Tensor]) -> torch.Tensor:
    """Each continuation without its last token, right-padded to one length: [n_cont, n_max - 1].
    Right padding never changes the positions read: the model is causal."""
    n_max = max(len(c) for c in conts)
    out = torch.full((len(conts), n_max - 1), int(model.pad_token_id), dtype=torch.long,
                     device=conts[0].device)
    for i, c in enumerate(conts):
        out[i, : len(c) - 1] = c[:-1]
    return out


def gather(logits: torch.Tensor, conts: list[torch.Tensor], rows: int) -> list[torch.Tensor]:
    """Per-token log p(c_k | ...) for each continuation block of `rows` rows: [rows, len(c)]."""
    out = []
    for j, c in enumerate(conts):
        block = logits[j * rows: (j + 1) * rows, : len(c)].float()
        picked = block.gather(-1, c[None, :, None].expand(rows, -1, 1)).squeeze(-1)
        out.append(picked - torch.logsumexp(block, dim=-1))
    return out


def logprobs_ids(model: Any, ids: torch.Tensor, conts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Prompt rows [B, T] (token ids) -> per continuation, log-probs [B, len(c)]: one forward."""
    b = ids.shape[0]
    tail = tails(model, conts).repeat_interleave(b, 0)
    seq = torch.cat([ids.repeat(len(conts), 1), tail], dim=1)
    return gather(lm_logits(model, tail.shape[1] + 1, ids=seq), conts, b)


def logprobs_embeds(model: Any, embeds: torch.Tensor, conts: list[torch.Tensor]
                    ) -> list[torch.Tensor]:
    """Prompt rows as input embeddings [B, T, D] -> per continuation, log-probs [B, len(c)]."""
    b = embeds.shape[0]
    tail = model.embedding_layer(tails(model, conts)).to(embeds.dtype)  # [n_cont, n-1, D]
    tail = tail.repeat_interleave(b, 0)
    seq = torch.cat([embeds.repeat(len(conts), 1, 1), tail], dim=1)
    return gather(lm_logits(model, tail.shape[1] + 1, embeds=seq), conts, b)


_SPLIT: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()  # per live module


def split_head(model: Any) -> tuple[Any, Any] | None:
    """(decoder, output head) when head(decoder(x).last_hidden_state) gives the model's own
    logits (checked once per model on a few tokens; no logit soft-capping or scaling), else None.
    Per-token gradients then start below the head: d log p / d hidden comes from one backward."""
    module = model.module
    base, head = getattr(module, "base_model", None), module.get_output_embeddings()
    if base is None or base is module or head is None:
        return None
    key = module  # not id(module): an id is reused after the module is freed
    if key not in _SPLIT:
        ids = torch.arange(1, 5, device=model.device)[None] % int(module.config.vocab_size)
        try:
            with torch.no_grad():
                mine = head(base(input_ids=ids, use_cache=False).last_hidden_state).float()
                theirs = lm_logits(model, ids.shape[1], ids=ids).float()
            _SPLIT[key] = bool(torch.allclose(mine, theirs, rtol=1e-4, atol=1e-4))
        except (TypeError, AttributeError, RuntimeError):
            _SPLIT[key] = False
    return (base, head) if _SPLIT[key] else None


def hidden_embeds(model: Any, base: Any, embeds: torch.Tensor, conts: list[torch.Tensor]
                  ) -> torch.Tensor:
    """Last hidden states at the positions that predict the continuations: [n_cont * B, n, D]
    (the inputs as logprobs_embeds builds them)."""
    b = embeds.shape[0]
    tail = model.embedding_layer(tails(model, conts)).to(embeds.dtype).repeat_interleave(b, 0)
    seq = torch.cat([embeds.repeat(len(conts), 1, 1), tail], dim=1)
    mask = torch.ones(seq.shape[:2], dtype=torch.long, device=seq.device)
    h = base(inputs_embeds=seq, attention_mask=mask, use_cache=False).last_hidden_state
    return h[:, -(tail.shape[1] + 1):]

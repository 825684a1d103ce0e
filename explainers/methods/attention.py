"""Attention weights and rollout (Abnar & Zuidema 2020; gradient-weighted: Chefer et al. 2021)."""
from __future__ import annotations

import torch

from explainers import generation as gen
from explainers.base import Attribution, Param, register
from explainers.batching import Counter
from explainers.methods._common import GENERATION, TEXT, Ctx, Method
from models.base import HasAttention, HasAttentionLogits, HasEmbeddingLayer, ModelAdapter
from models.errors import InputError, UnsupportedError

LAYER = Param("layer", "int", -1, "Layer whose attention is shown (-1 = last).", min=-64, max=63)
HEAD = Param("head", "int", -1, "Head (-1 = mean over heads).", min=-1, max=63)


def _pick(n: int, i: int, what: str) -> int:
    if not -n <= i < n:
        raise InputError(f"{what} {i} is out of range; the model has {n} (use 0..{n - 1} or -1)")
    return i % n


class _AttentionMethod(Method):
    one_pass = True
    modalities = frozenset({TEXT, GENERATION})

    def missing(self, model: ModelAdapter) -> str:
        if not isinstance(model, HasAttention):
            return f"{self.name} needs attention weights (HasAttention: a transformer)"
        return super().missing(model)

    def weights(self, ctx: Ctx) -> torch.Tensor:
        if ctx.modality == GENERATION:  # prompt + continuation, causal
            return gen.attention_weights(ctx)
        with torch.no_grad():
            att = ctx.model.attention(ctx.x[0]).detach().float()
        if att.ndim != 4 or att.shape[-1] != ctx.x[0].shape[-1]:
            raise UnsupportedError(f"attention() returned {list(att.shape)}; expected [L, H, T, T]")
        return att


@register
class AttentionMethod(_AttentionMethod):
    name = "attention"
    label = "Attention weights"
    needs = "attention weights (HasAttention)"
    help = ("How much the classification token (first position) attends to each token, in one "
            "layer, one head or the mean over heads; all weights in extras['attention'].")
    params = (LAYER, HEAD)

    def run(self, ctx: Ctx) -> Attribution:
        att = self.weights(ctx)
        layer = _pick(att.shape[0], ctx.p["layer"], "layer")
        if ctx.p["head"] == -1:
            heads = att[layer]
        else:
            heads = att[layer, _pick(att.shape[1], ctx.p["head"], "head")][None]
        if ctx.modality == GENERATION:
            return gen.attention_result(ctx, heads.mean(0), {"attention": att})
        return ctx.finish(heads.mean(0)[0], extras={"attention": att.cpu().numpy()})


def rollout(att: torch.Tensor) -> torch.Tensor:
    """Abnar & Zuidema: head mean, 0.5 A + 0.5 I, rows renormalised, multiplied over layers."""
    eye = torch.eye(att.shape[-1], dtype=att.dtype, device=att.device)
    result = eye
    for a in att.mean(1):
        a = 0.5 * a + 0.5 * eye
        result = (a / a.sum(-1, keepdim=True)) @ result
    return result


def gradient_rollout(att: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """Chefer et al. 2021: R = I; per layer R += mean_heads((grad * A)^+) @ R."""
    eye = torch.eye(att.shape[-1], dtype=att.dtype, device=att.device)
    result = eye
    for a, g in zip(att, grads, strict=True):
        cam = (g * a).clamp(min=0).mean(0)
        result = result + cam @ result
    return result


def attention_and_grads(ctx: Ctx) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention [L,H,T,T] and d(target logit)/d(attention): from attention_and_logits() when
    the adapter has it, else a Hugging Face module called with output_attentions=True."""
    model, ids = ctx.model, ctx.x[0]
    emb = model.embedding_layer if isinstance(model, HasEmbeddingLayer) else None
    handle = emb.register_forward_hook(lambda _m, _i, o: o.detach().requires_grad_(True)) \
        if emb is not None else None
    try:
        if isinstance(model, HasAttentionLogits):
            logits, att = model.attention_and_logits(ids)
        else:
            try:
                out = model.module(input_ids=ids, attention_mask=torch.ones_like(ids),
                                   output_attentions=True)
            except TypeError as exc:
                raise UnsupportedError(
                    "variant 'gradient' needs attention_and_logits(input_ids) on the adapter or a "
                    f"Hugging Face module taking output_attentions ({exc})") from exc
            logits, att = out.logits, out.attentions
        ctx.counter = Counter(2, ctx.progress)
        ctx.counter.add(1)  # the forward is done; the callback may cancel before the backward
        att = list(att) if isinstance(att, list | tuple) else list(att.unbind(0))
        grads = torch.autograd.grad(logits[0, ctx.target], att)
    finally:
        if handle is not None:
            handle.remove()
    return _stack(att), _stack(grads)


def _stack(ts: list[torch.Tensor]) -> torch.Tensor:
    """Per-layer [1, H, T, T] (or [H, T, T]) tensors -> [L, H, T, T]."""
    return torch.stack([t.reshape(t.shape[-3:]) for t in ts]).detach().float()


@register
class AttentionRolloutMethod(_AttentionMethod):
    name = "attention_rollout"
    label = "Attention rollout"
    needs = "attention weights (HasAttention); gradient variant: attention with gradients"
    help = ("Attention flow through all layers to the classification token: rollout (Abnar & "
            "Zuidema 2020) or gradient-weighted (Chefer et al. 2021). Matrix in "
            "extras['rollout'].")
    params = (Param("variant", "choice", "rollout", "rollout: head mean + identity; gradient: "
                    "positive gradient x attention, head mean (class-specific).",
                    choices=("rollout", "gradient")),)

    def run(self, ctx: Ctx) -> Attribution:
        if ctx.p["variant"] == "gradient":
            att, grads = (gen.attention_and_grads if ctx.modality == GENERATION
                          else attention_and_grads)(ctx)
            matrix = gradient_rollout(att, grads)
            if ctx.modality == GENERATION:  # the identity is each position's own residual path
                matrix = matrix - torch.eye(matrix.shape[-1], dtype=matrix.dtype)
            # the identity is each token's own residual path: scores are what attention adds
            scores = matrix[0].clone()
            scores[0] -= 1.0
        else:
            att = self.weights(ctx)
            matrix = rollout(att)
            scores = matrix[0]
        extras = {"rollout": matrix.cpu().numpy(), "attention": att.cpu().numpy()}
        if ctx.modality == GENERATION:
            return gen.attention_result(ctx, matrix, extras)
        return ctx.finish(scores, extras=extras)




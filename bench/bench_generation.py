"""Benchmark: language-model attribution through explain() vs Captum's LLM wrappers vs the floor.

Run: `.venv/bin/python bench/bench_generation.py [--runs 3] [--threads 2]`. On review-gpt (or,
until it is built, a random GPT-2 of its size: 4 layers, 256 wide, 8k vocabulary), a 32-token
prompt and a 16-token continuation. Rows: feature ablation and integrated gradients (sequence
and per token) through explain(); Captum's LLMAttribution(FeatureAblation) /
LLMGradientAttribution(LayerIntegratedGradients) with default arguments (Captum's
use_cached_outputs=True default gives wrong log-probabilities with transformers 5.23, so the
default row runs with use_cached_outputs=False, as PERFORMANCE.md did); the floor: all
perturbed prompts + continuation in one batched forward, or all IG points in one batched
forward + backward of the sequence log-probability. Prints the max difference from Captum.
"""
from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import captum_nodes, measure  # noqa: E402  (before explainers: Captum's own nodes)

from explainers import explain  # noqa: E402
from explainers.methods import path as _path  # noqa: E402,F401  (installs the node cache)

PROMPT_TOKENS, TARGET_TOKENS, STEPS = 32, 16, 50
TEXT = ("the film is a mess and the acting is superb , a movie about love that never finds "
        "its feet but the cast keeps it alive with warmth and wit until the very last scene ")


def model(device: str):
    """review-gpt when it is built, else a random GPT-2 of its size."""
    from models import load_model
    from models.errors import ModelLoadError

    try:
        return load_model("review-gpt", device=device), "review-gpt"
    except (ModelLoadError, ModuleNotFoundError):
        from transformers import GPT2Config, GPT2LMHeadModel

        from models.base import ModelInfo
        from models.builtin.causal_lm import CausalLMAdapter
        from tests.models.lm_fixtures import tiny_tokenizer

        tok = tiny_tokenizer(vocab_size=2000)
        torch.manual_seed(0)
        cfg = GPT2Config(vocab_size=8192, n_positions=256, n_embd=256, n_layer=4, n_head=8)
        info = ModelInfo("random-gpt2", "generation", ())
        return CausalLMAdapter(GPT2LMHeadModel(cfg), tok, info, device), "random GPT-2 4x256"


def texts(m) -> tuple[str, str]:
    """A prompt of 32 tokens and a continuation of 16, both re-encoding to those lengths."""
    ids = m.tokenizer.encode(TEXT * 4, add_special_tokens=False)
    prompt = m.tokenizer.decode(ids[:PROMPT_TOKENS])
    target = m.tokenizer.decode(ids[PROMPT_TOKENS: PROMPT_TOKENS + TARGET_TOKENS])
    assert len(m.encode(prompt)[0]) == PROMPT_TOKENS, "prompt length"
    assert len(m.continuation_ids(target)) == TARGET_TOKENS, "target length"
    return prompt, target





def captum_calls(m, prompt: str, target: str) -> dict[str, Callable[[], object]]:
    from captum.attr import (
        FeatureAblation,
        LayerIntegratedGradients,
        LLMAttribution,
        LLMGradientAttribution,
        TextTokenInput,
    )

    inp = TextTokenInput(prompt, m.tokenizer)
    fa = LLMAttribution(FeatureAblation(m.module), m.tokenizer)
    ig = LLMGradientAttribution(LayerIntegratedGradients(m.module, m.embedding_layer),
                                m.tokenizer)

    return {"fa": lambda: fa.attribute(inp, target=target, use_cached_outputs=False),
            "ig": captum_nodes(lambda: ig.attribute(inp, target=target))}


def floors(m, prompt: str, target: str) -> dict[str, Callable[[], object]]:
    ids = m.encode(prompt)
    cont = torch.tensor(m.continuation_ids(target), device=ids.device)
    seq = torch.cat([ids[0], cont[:-1]])
    t = ids.shape[1]
    batch = seq.repeat(t + 1, 1)
    batch[1:, :t][torch.eye(t, dtype=torch.bool, device=ids.device)] = 0

    @torch.no_grad()
    def fa_floor():
        return m.module(input_ids=batch, use_cache=False).logits

    emb = m.embedding_layer(seq[None]).detach()
    alphas = torch.linspace(0, 1, STEPS, device=ids.device)[:, None, None]

    def ig_floor():
        pts = (emb * alphas).requires_grad_(True)
        logits = m.module(inputs_embeds=pts, use_cache=False).logits[:, t - 1:]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, cont[None, :, None].expand(
            STEPS, -1, 1)).sum()
        return torch.autograd.grad(logp, pts)[0]

    return {"fa": fa_floor, "ig": ig_floor}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    m, name = model(args.device)
    prompt, target = texts(m)
    cap, floor = captum_calls(m, prompt, target), floors(m, prompt, target)
    ours = {
        "fa": lambda: explain(m, prompt, "feature_ablation", target=target),
        "ig": lambda: explain(m, prompt, "integrated_gradients", target=target, per_token=False),
        "ig_tok": lambda: explain(m, prompt, "integrated_gradients", target=target),
    }
    check(ours, cap)
    t = measure({"fa": ours["fa"], "ig": ours["ig"], "ig_tok": ours["ig_tok"],
                 "cap_fa": cap["fa"], "cap_ig": cap["ig"], "floor_fa": floor["fa"],
                 "floor_ig": floor["ig"]}, args.runs, warm_up=False)  # check() warmed them
    rows = [("feature ablation (seq + per token)", "fa", "cap_fa", "floor_fa"),
            ("integrated gradients, sequence only", "ig", "cap_ig", "floor_ig"),
            ("integrated gradients, per token (+ sequence)", "ig_tok", "cap_ig", "floor_ig")]
    print(f"\n{name}, prompt {PROMPT_TOKENS} + continuation {TARGET_TOKENS} tokens, "
          f"{args.threads} threads, {args.device}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, median of {args.runs}\n")
    print("| case | explain() | Captum default | floor | Captum / ours | ours / floor |")
    print("|---|---|---|---|---|---|")
    for label, o, c, f in rows:
        print(f"| {label} | {t[o]:,.0f} ms | {t[c]:,.0f} ms | {t[f]:,.0f} ms "
              f"| {t[c] / t[o]:.1f}x | {t[o] / t[f]:.2f}x |")


def check(ours: dict, cap: dict) -> None:
    """The benchmarked explain() calls give Captum's numbers (seq and per token)."""
    fa, ref_fa = ours["fa"](), cap["fa"]()
    ig, ig_tok, ref_ig = ours["ig"](), ours["ig_tok"](), cap["ig"]()
    pairs = {"feature ablation seq": (fa.values, ref_fa.seq_attr),
             "feature ablation tokens": (fa.extras["token_attr"], ref_fa.token_attr),
             "IG seq": (ig.values, ref_ig.seq_attr),
             "IG tokens": (ig_tok.extras["token_attr"], ref_ig.token_attr)}
    for label, (a, b) in pairs.items():
        b = b.detach().cpu().numpy()
        print(f"max |explain() - Captum| {label}: {np.abs(a - b).max():.2e} "
              f"(values up to {np.abs(b).max():.2e})")


if __name__ == "__main__":
    main()

"""review-gpt: a small GPT-2 trained here on Rotten Tomatoes review snippets (a generation model)."""
from __future__ import annotations

import torch

from models.base import ModelInfo, sha256_of
from models.builtin.causal_lm import CausalLMAdapter, load_pretrained
from models.builtin.common import ASSETS, asset, load_card
from models.errors import ModelLoadError
from models.registry import register

NAME = "review-gpt"
MODEL_DIR = ASSETS / NAME  # a save_pretrained folder: config, safetensors, tokenizer
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
SAMPLE_PROMPTS = ("the film is", "the acting is", "a movie that", "this is one of the",
                  "the plot", "it's a")


def info(sha: str = "") -> ModelInfo:
    return ModelInfo(
        name=NAME, modality="generation", class_names=(),
        description="A 4-layer GPT-2 trained here on Rotten Tomatoes review snippets; it writes "
                    "review-like continuations.",
        card=load_card(NAME), sha256=sha,
    )


@register(NAME)
def load(device: str | None = None) -> CausalLMAdapter:
    paths = [asset(MODEL_DIR / f) for f in FILES]
    module, tokenizer, loading = load_pretrained(MODEL_DIR, dtype=torch.float32)
    missing = [k for k in ("missing_keys", "mismatched_keys") if loading.get(k)]
    if missing:
        raise ModelLoadError(f"{NAME}: shipped weights incomplete ({missing}); rebuild with "
                             f"`python -m models.train {NAME}`")
    return CausalLMAdapter(module, tokenizer, info(sha256_of(*paths)), device)

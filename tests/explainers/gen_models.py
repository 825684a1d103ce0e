"""Tiny random causal LMs as generation adapters for the explainer tests (built from config)."""
from __future__ import annotations

import functools

from models.base import ModelInfo
from models.builtin.causal_lm import CausalLMAdapter
from tests.models.lm_fixtures import build

PROMPT, TARGET, CONTRAST = "the film is a", " mess and", " love"
KINDS = ("gpt2", "llama")


@functools.cache
def lm(kind: str) -> CausalLMAdapter:
    module, tok = build(kind)
    return CausalLMAdapter(module, tok, ModelInfo(f"tiny-{kind}", "generation", ()), "cpu")

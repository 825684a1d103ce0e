"""Tiny random causal LMs (GPT-2 and Llama) with a byte-level BPE trained in the test (no downloads)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tests.models.user_fixtures import SENTENCES

TEXT = SENTENCES * 4 + ["the film is a mess", "the acting is superb", "a movie about love"]


def tiny_tokenizer(bos: bool = False, vocab_size: int = 300) -> Any:
    """A byte-level BPE PreTrainedTokenizerFast; with bos=True it prepends <s> like Llama."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(TEXT, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[
            ("<s>", tok.token_to_id("<s>"))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    extra = {"bos_token": "<s>"} if bos else {"bos_token": "<|endoftext|>"}
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", **extra)


def tiny_gpt2(tokenizer: Any, seed: int = 0) -> torch.nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=4,
                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return GPT2LMHeadModel(cfg).eval()


def tiny_llama(tokenizer: Any, seed: int = 0) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=64, bos_token_id=tokenizer.bos_token_id,
                      eos_token_id=tokenizer.eos_token_id, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg).eval()


def build(kind: str, seed: int = 0) -> tuple[torch.nn.Module, Any]:
    """(model, tokenizer) for kind 'gpt2' or 'llama'."""
    tok = tiny_tokenizer(bos=kind == "llama")
    model = tiny_gpt2(tok, seed) if kind == "gpt2" else tiny_llama(tok, seed)
    return model, tok


def save(kind: str, folder: Path, seed: int = 0, dtype: torch.dtype | None = None) -> Path:
    """A save_pretrained folder (safetensors + tokenizer) of a tiny causal LM."""
    model, tok = build(kind, seed)
    if dtype is not None:
        model = model.to(dtype)
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder

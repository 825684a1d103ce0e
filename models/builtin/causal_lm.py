"""CausalLMAdapter: any transformers *ForCausalLM + its tokenizer as a generation model."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.base import BaseAdapter, ModelInfo
from models.errors import InputError, ModelLoadError

MAX_PROMPT_CHARS = 20_000
_HEX_BYTE = re.compile(r"<0x[0-9A-Fa-f]{2}>")
_MARKERS = {"Ġ": " ", "▁": " ", "Ċ": "\n", "ĉ": "\t"}


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable-character -> byte map (the ByteLevel alphabet)."""
    from tokenizers import pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    # the alphabet is unordered; rebuild the GPT-2 mapping the same way transformers does
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = {chr(c): b for b, c in zip(bs, cs, strict=True)}
    return table if set(table) == set(alphabet) else {}


_BYTES = _byte_decoder()


def clean_token(piece: str) -> str:
    """A raw BPE piece ("Ġact", "▁act", "<0x0A>") as display text (" act", "\\n")."""
    if _HEX_BYTE.fullmatch(piece):  # sentencepiece byte fallback
        return bytes([int(piece[3:5], 16)]).decode("utf-8", errors="replace")
    if piece and all(ch in _BYTES for ch in piece):
        return bytes(_BYTES[ch] for ch in piece).decode("utf-8", errors="replace")
    for marker, text in _MARKERS.items():
        piece = piece.replace(marker, text)
    return piece


def final_norm(module: torch.nn.Module) -> torch.nn.Module | None:
    """The norm applied after the last decoder layer (GPT-2 ln_f, Llama norm, Phi final_layernorm)."""
    base = getattr(module, "base_model", module)
    for name in ("ln_f", "norm", "final_layernorm", "final_layer_norm"):
        layer = getattr(base, name, None)
        if isinstance(layer, torch.nn.Module):
            return layer
    return None


class CausalLMAdapter(BaseAdapter):
    """Generation model: preprocess(prompt) -> ids [1, T]; forward(ids) -> logits [B, T, vocab]."""

    mask_token_id = None

    def __init__(self, module: torch.nn.Module, tokenizer: Any, info: ModelInfo,
                 device: str | None = None):
        if getattr(module.config, "_attn_implementation", "eager") != "eager":
            module.set_attn_implementation("eager")  # attention weights need eager attention
        super().__init__(module, info, device)
        self.tokenizer = tokenizer
        self.embedding_layer = self.module.get_input_embeddings()
        cfg = self.module.config
        pad = tokenizer.pad_token_id
        pad = tokenizer.eos_token_id if pad is None else pad
        self.pad_token_id = int(pad if pad is not None else 0)
        self.eos_token_id = tokenizer.eos_token_id
        limit = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
        self.context_length = int(limit or 2048)

    # ------------------------------------------------------------- text <-> ids
    def _check(self, text: Any, what: str = "prompt") -> str:
        if not isinstance(text, str):
            raise InputError(f"the {what} must be a str, not a {type(text).__name__}")
        if not text.strip():
            raise InputError(f"the {what} is empty; type some text, e.g. 'the film is'")
        if len(text) > MAX_PROMPT_CHARS:
            raise InputError(f"the {what} has {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
        return text

    def _ids(self, prompt: Any) -> list[int]:
        """Prompt ids as Captum's TextTokenInput makes them (tokenizer.encode, special tokens on)."""
        ids = self.tokenizer.encode(self._check(prompt))
        if len(ids) >= self.context_length:
            raise InputError(f"the prompt has {len(ids)} tokens; this model reads at most "
                             f"{self.context_length - 1} before it writes")
        return list(ids)

    def continuation_ids(self, continuation: Any) -> list[int]:
        """Target ids as Captum's LLMAttribution makes them (no special tokens)."""
        ids = self.tokenizer.encode(self._check(continuation, "continuation"),
                                    add_special_tokens=False)
        if not ids:
            raise InputError(f"the continuation {continuation!r:.60} has no tokens")
        return list(ids)

    def encode(self, text: Any) -> torch.Tensor:
        return torch.tensor([self._ids(text)], dtype=torch.long, device=self.device)

    def preprocess(self, raw: Any) -> torch.Tensor:
        return self.encode(raw)

    def tokens(self, raw: Any) -> tuple[str, ...]:
        """Display text of each prompt token (BPE markers turned back into spaces/newlines)."""
        return tuple(clean_token(p) for p in self.tokenizer.convert_ids_to_tokens(self._ids(raw)))

    def units(self, raw: Any) -> tuple[str, ...]:
        return self.tokens(raw)

    def word_ids(self, raw: Any) -> list[int | None]:
        """Word index of each prompt token (None for special tokens), to merge BPE pieces."""
        enc = self.tokenizer(self._check(raw))
        return list(enc.word_ids())

    # ------------------------------------------------------------- model calls
    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Logits [batch, T, vocab] (float32)."""
        out = self.module(input_ids=ids, attention_mask=attention_mask, use_cache=False)
        return out.logits.float()

    @torch.no_grad()
    def predict(self, raw: Any) -> np.ndarray:
        """Next-token probabilities [vocab] after the prompt."""
        logits = self.forward(self.encode(raw))[0, -1]
        return torch.softmax(logits, dim=-1).cpu().numpy()

    @torch.no_grad()
    def generate_ids(self, prompt: Any, max_new_tokens: int = 20) -> torch.Tensor:
        """Greedy continuation ids [n_new] (stops early at the end-of-text token)."""
        from transformers import GenerationConfig

        ids = self.encode(prompt)
        room = self.context_length - ids.shape[1]
        if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise InputError(f"max_new_tokens must be a positive int, not {max_new_tokens!r}")
        config = GenerationConfig(max_new_tokens=min(max_new_tokens, room), do_sample=False,
                                  num_beams=1, pad_token_id=self.pad_token_id,
                                  eos_token_id=self.eos_token_id)
        out = self.module.generate(ids, attention_mask=torch.ones_like(ids),
                                   generation_config=config)
        return out[0, ids.shape[1]:]

    def generate(self, prompt: Any, max_new_tokens: int = 20) -> str:
        """The greedy continuation only (text after the prompt)."""
        new = self.generate_ids(prompt, max_new_tokens).tolist()
        prompt_ids = self._ids(prompt)
        dec = self.tokenizer.decode
        full = dec(prompt_ids + new, skip_special_tokens=True)
        head = dec(prompt_ids, skip_special_tokens=True)
        return full[len(head):] if full.startswith(head) else dec(new, skip_special_tokens=True)

    @torch.no_grad()
    def log_prob(self, prompt: Any, continuation: Any) -> float:
        """Sum of log p(continuation tokens | prompt, earlier continuation tokens)."""
        p, c = self._ids(prompt), self.continuation_ids(continuation)
        if len(p) + len(c) > self.context_length:
            raise InputError(f"prompt + continuation is {len(p) + len(c)} tokens; the context is "
                             f"{self.context_length}")
        ids = torch.tensor([p + c], device=self.device)
        logp = torch.log_softmax(self.forward(ids)[0, len(p) - 1:-1], dim=-1)
        target = torch.tensor(c, device=self.device)
        return float(logp.gather(1, target[:, None]).sum())

    @torch.no_grad()
    def attention(self, ids: torch.Tensor) -> torch.Tensor:
        """Attention probabilities [layers, heads, T, T] for ids [1, T] (causal)."""
        out = self.module(input_ids=ids, output_attentions=True, use_cache=False)
        if not out.attentions:
            raise ModelLoadError(f"{self.info.name} returned no attention weights; load it with "
                                 "attn_implementation='eager'")
        return torch.stack([a[0].float() for a in out.attentions])

    @torch.no_grad()
    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """Residual stream [layers + 1, T, hidden] (HF order: embeddings first, last one normed)."""
        out = self.module(input_ids=ids, output_hidden_states=True, use_cache=False)
        return torch.stack([h[0] for h in out.hidden_states])

    @torch.no_grad()
    def logit_lens(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token log-probabilities read out at every layer: [layers + 1, T, vocab]."""
        hs = self.hidden_states(ids)
        norm, head = final_norm(self.module), self.module.get_output_embeddings()
        inner = norm(hs[:-1]) if norm is not None else hs[:-1]
        logits = head(torch.cat([inner, hs[-1:]]))
        return torch.log_softmax(logits.float(), dim=-1)

    # ------------------------------------------------------------- memory
    def weight_bytes(self) -> int:
        tensors = list(self.module.parameters()) + list(self.module.buffers())
        seen = {t.data_ptr(): t.numel() * t.element_size() for t in tensors}  # tied counted once
        return int(sum(seen.values()))

    def memory_bytes(self, batch: int = 1, tokens: int | None = None) -> int:
        """Weights + a rough activation estimate for `batch` sequences of `tokens` (backward incl.)."""
        cfg = self.module.config
        t = tokens or self.context_length
        hidden = int(getattr(cfg, "hidden_size", 0) or getattr(cfg, "n_embd", 0))
        layers = int(getattr(cfg, "num_hidden_layers", 0) or getattr(cfg, "n_layer", 0))
        heads = int(getattr(cfg, "num_attention_heads", 0) or getattr(cfg, "n_head", 0))
        vocab = int(getattr(cfg, "vocab_size", 0))
        per_seq = 4 * t * (layers * (16 * hidden + 2 * heads * t) + 3 * vocab)
        return self.weight_bytes() + 2 * batch * per_seq  # x2: activations kept for gradients


def load_pretrained(path: str | Path, dtype: torch.dtype | None = None) -> tuple[Any, Any, dict]:
    """(*ForCausalLM, tokenizer, loading_info) from a local folder: eager attention, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"attn_implementation": "eager", "use_safetensors": True,
                              "local_files_only": True, "output_loading_info": True}
    if dtype is not None:
        kwargs["dtype"] = dtype
    module, loading = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return module, tokenizer, loading

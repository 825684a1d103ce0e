"""One generation call's inputs: prompt ids, continuation (given or greedy), contrast, units."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explainers.generation.params import parse_spans
from models.errors import InputError


@dataclass(frozen=True)
class Setup:
    """What every generation method needs, resolved once from the prompt and the params."""

    prompt: str
    ids: torch.Tensor  # [1, T] prompt ids (special tokens included, as Captum's TextTokenInput)
    target: torch.Tensor  # [n] continuation ids (no special tokens, as Captum's LLMAttribution)
    target_text: str
    contrast: torch.Tensor | None  # [m] contrast continuation ids, or None
    contrast_text: str
    baseline_id: int  # token put in place of a removed prompt token
    groups: np.ndarray  # [T] unit index of each prompt token (tokens, words or spans)
    units: tuple[str, ...]  # one label per unit
    tokens: tuple[str, ...]  # the prompt's tokens (display text)

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def grouped(self) -> bool:
        return self.n_units != len(self.tokens)

    def conts(self) -> list[torch.Tensor]:
        """The continuations scored: the target, then the contrast when there is one."""
        return [self.target] if self.contrast is None else [self.target, self.contrast]


def check_generation_target(target: Any) -> str | None:
    """A language model's target is the continuation text (or None for its greedy one)."""
    if target is None or isinstance(target, str):
        return target
    raise InputError(f"a language model's target is the continuation text (a str) or None, "
                     f"not {type(target).__name__} {target!r:.40}")


def prepare(model: Any, prompt: Any, target: str | None, p: dict[str, Any],
            spans: Any = None) -> Setup:
    """Tokenise prompt/target/contrast (one-line InputErrors), pick the baseline and units."""
    ids = model.encode(prompt)
    if target is None:
        target_ids = model.generate_ids(prompt, int(p.get("max_new_tokens", 20))).to(ids.device)
        if target_ids.numel() == 0:
            raise InputError("the model wrote nothing after this prompt (no room left in its "
                             "context); give a shorter prompt or a target")
        target = model.tokenizer.decode(target_ids.tolist())
    elif not target.strip():
        raise InputError("the target continuation is empty; give the text to explain, "
                         "e.g. target=' superb', or None for the model's own continuation")
    else:
        target_ids = _cont(model, target, ids)
    contrast_text = str(p.get("contrast") or "")
    contrast = _cont(model, contrast_text, ids) if contrast_text else None
    if contrast is not None and torch.equal(contrast, target_ids):
        raise InputError(f"contrast {contrast_text!r} is the target itself; give a different one")
    tokens = tuple(model.tokens(prompt))
    groups, units = _units(model, prompt, tokens, bool(p.get("merge_words")), spans)
    base = model.pad_token_id if p.get("baselines") == "pad" else 0
    return Setup(prompt, ids, target_ids, target, contrast, contrast_text, int(base), groups,
                 units, tokens)


def of(ctx: Any) -> Setup:
    """The Setup of one method call (made once, kept on the call context)."""
    s = ctx.free.get("_setup")
    if s is None:
        s = prepare(ctx.model, ctx.raw, ctx.free.get("continuation"), ctx.p, ctx.free.get("spans"))
        ctx.free["_setup"] = s
    return s


def _cont(model: Any, text: str, ids: torch.Tensor) -> torch.Tensor:
    c = model.continuation_ids(text)
    total = ids.shape[1] + len(c)
    if total > model.context_length:
        raise InputError(f"prompt + continuation is {total} tokens; {model.info.name} reads at "
                         f"most {model.context_length}")
    return torch.tensor(c, dtype=torch.long, device=ids.device)


def _units(model: Any, prompt: str, tokens: tuple[str, ...], words: bool,
           spans: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Unit of each token: spans the user marked, else words (BPE pieces merged), else tokens."""
    n = len(tokens)
    marked = parse_spans(spans, n)
    if marked:
        starts = {a: b for a, b in marked}
        keys, i = [], 0
        while i < n:
            end = starts.get(i, i + 1)
            keys.extend([i] * (end - i))
            i = end
        return _label(keys, tokens)
    if words:
        word_ids = list(model.word_ids(prompt))
        if len(word_ids) != n:
            raise InputError(f"word_ids gave {len(word_ids)} entries for {n} tokens")
        keys = [("w", w) if w is not None else ("t", i) for i, w in enumerate(word_ids)]
        return _label(keys, tokens)
    return np.arange(n), tokens


def _label(keys: list, tokens: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Consecutive equal keys form one unit, labelled by its tokens joined."""
    groups, units, last = [], [], object()
    for key, tok in zip(keys, tokens, strict=True):
        if key != last:
            units.append("")
        units[-1] += tok
        groups.append(len(units) - 1)
        last = key
    return np.asarray(groups), tuple(units)

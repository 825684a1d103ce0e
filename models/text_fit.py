"""Long and badly encoded text, one rule on every surface: decode UTF-8 or say where it is not,
and cut a text to what the model reads (its context) with a notice saying what was cut."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from models.base import HasTextLimit
from models.errors import InputError, InputNotice

MAX_CHARS = 20_000  # models that declare no context (HasTextLimit) read this many characters
PRE_CUT = 64  # characters per token looked at before tokenizing (a 1 MB text is not tokenized)


@dataclass(frozen=True)
class Fitted:
    """The text the model reads, and a notice ('' when nothing was cut)."""

    text: str
    notice: str = ""
    cut: int = 0  # characters cut


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (a BOM allowed) or one-line InputError naming the first bad byte and where it is."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start:exc.start + 1].hex()
        raise InputError(f"{name} is not UTF-8 text (byte 0x{byte} at position {exc.start:,}); "
                         "save it as UTF-8 and try again") from None


def _limit(model: Any) -> tuple[int, str]:
    if isinstance(model, HasTextLimit):
        return model.max_tokens, f"at most {model.max_tokens} tokens"
    return MAX_CHARS, f"at most {MAX_CHARS:,} characters"


def fit_text(model: Any, text: str) -> Fitted:
    """`text` cut to the part `model` reads (HasTextLimit.text_end, else MAX_CHARS characters)."""
    if not isinstance(text, str):
        return Fitted(text)
    limit, what = _limit(model)
    if isinstance(model, HasTextLimit):
        end = min(model.text_end(text[:limit * PRE_CUT]), len(text))
    else:
        end = min(len(text), MAX_CHARS)
    if end >= len(text) or not text[end:].strip():
        return Fitted(text)
    cut = len(text) - end
    name = getattr(getattr(model, "info", None), "name", "the model")
    notice = (f"the text has {len(text):,} characters; {name} reads {what}, so the first "
              f"{end:,} characters were explained and the last {cut:,} were cut "
              f"(from {text[end:end + 24]!r})")
    return Fitted(text[:end], notice, cut)


def fitted_raw(model: Any, raw: Any) -> Any:
    """raw with its text fitted (a str, or the 'text' of a fusion dict); the notice is warned
    as an InputNotice (how the Python API says it)."""
    modality = getattr(getattr(model, "info", None), "modality", "")
    if modality == "text" and isinstance(raw, str):
        fit = fit_text(model, raw)
        if fit.notice:
            warnings.warn(fit.notice, InputNotice, stacklevel=3)
        return fit.text
    if modality == "fusion" and isinstance(raw, dict) and isinstance(raw.get("text"), str):
        fit = fit_text(model, raw["text"])
        if fit.notice:
            warnings.warn(fit.notice, InputNotice, stacklevel=3)
            return {**raw, "text": fit.text}
    return raw


def tokenizer_end(tokenizer: Any, text: str, max_length: int) -> int:
    """Characters of `text` a (fast) Hugging Face tokenizer keeps under truncation=max_length:
    the end offset of the last kept token (special tokens have empty offsets)."""
    enc = tokenizer(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    offsets = [e for s, e in enc["offset_mapping"] if e > s]
    if not offsets or len(enc["input_ids"]) < max_length:
        return len(text)
    return max(offsets)

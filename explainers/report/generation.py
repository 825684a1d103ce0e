"""Language-model parts of a report: the continuation, the logit lens, the JSON record."""
from __future__ import annotations

from typing import Any

import numpy as np

from explainers.base import Attribution

LENS_K = 5


def is_generation(a: Attribution | dict) -> bool:
    return (a.get("modality") if isinstance(a, dict) else a.modality) == "generation"


def continuation_probability(attributions: list[Attribution]) -> np.ndarray:
    """[p(continuation | prompt)] of the first result (what a classifier's probabilities are)."""
    out = attributions[0].output if attributions and attributions[0].output is not None else 0.0
    return np.asarray([float(np.exp(out))])


def sections(model: Any, prompt: str, attributions: list[Attribution]) -> list[dict[str, Any]]:
    """The continuation explained and the logit lens over prompt + continuation (Section
    fields, for explainers.report.model)."""
    from explainers import plots as P
    from explainers.generation import logit_lens

    first = attributions[0] if attributions else None
    cont = first.target_label if first is not None else ""
    text = f"Prompt: {prompt!r}. Continuation explained: {cont!r}"
    if first is not None and first.output is not None:
        text += f" (log p = {first.output:.4g})"
    contrast = first.extras.get("contrast") if first is not None else None
    if contrast:
        text += f"; contrast: {contrast!r}, so the maps explain log p(target) - log p(contrast)"
    lens = logit_lens(model, prompt, k=LENS_K, continuation=cont or None)
    fig = P.logit_lens_heatmap(np.asarray(lens.tokens, dtype=object), lens.probs,
                               lens.input_tokens, lens.layers, title="logit lens")
    data = {"continuation": cont, "output_tokens": list(first.extras.get("output_tokens", ()))
            if first is not None else [], "logit_lens": lens.to_dict()}
    return [{"title": "Continuation and logit lens", "text": text, "figures": [fig],
             "data": data}]


def record(a: Attribution) -> dict[str, Any]:
    """What the JSON keeps of a generation result beside its values: per-token rows and ids."""
    rec: dict[str, Any] = {"output_tokens": list(a.extras.get("output_tokens", ())),
                           "target_ids": list(a.extras.get("target_ids", ())),
                           "contrast": a.extras.get("contrast", "")}
    if "token_attr" in a.extras:
        m = np.asarray(a.extras["token_attr"], dtype=float)
        rec["token_attr"] = {"shape": list(m.shape), "data": m.ravel().tolist()}
    return rec


def recorded_target(model: Any, rec: dict[str, Any]) -> str | None:
    """The continuation to explain again: its text when it re-tokenises to the recorded ids,
    else None (the greedy continuation, regenerated with the recorded max_new_tokens)."""
    text = rec.get("target_label") or ""
    ids = (rec.get("generation") or {}).get("target_ids") or []
    try:
        same = list(model.continuation_ids(text)) == list(ids)
    except ValueError:
        same = False
    return text if same or not ids else None

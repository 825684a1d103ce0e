"""Trust scores on a language model: the continuation's log-probability as the metric target."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from explainers.base import Attribution
from explainers.generation.forward import logprobs_ids
from explainers.generation.result import rows_that_fit


class ContinuationScore:
    """A callable metric target: prompt rows (token ids) -> log p(target) [- log p(contrast)].

    Trust metrics call it where a classifier's target index would pick a logit; the value is a
    log-probability whatever output ('prob'/'logit') they ask for: the probability of a whole
    continuation is too small to plot."""

    output = "log_prob"

    def __init__(self, model: Any, a: Attribution):
        self.model = model
        device = model.device
        ids = a.extras.get("target_ids") or model.continuation_ids(a.target_label)
        self.conts = [torch.tensor(ids, dtype=torch.long, device=device)]
        contrast = a.extras.get("contrast_ids") or (
            model.continuation_ids(a.extras["contrast"]) if a.extras.get("contrast") else None)
        if contrast:
            self.conts.append(torch.tensor(contrast, dtype=torch.long, device=device))
        self.key = (a.target_label, a.extras.get("contrast", ""))

    @torch.no_grad()
    def __call__(self, inputs: tuple[torch.Tensor, ...], output: str = "log_prob") -> torch.Tensor:
        ids = inputs[0]
        tokens = (ids.shape[1] + max(len(c) for c in self.conts)) * len(self.conts)
        size = rows_that_fit(self.model, tokens, ids.shape[0], grad=False)
        parts = []
        for i in range(0, ids.shape[0], size):
            lps = logprobs_ids(self.model, ids[i: i + size], self.conts)
            seq = lps[0].sum(1) - (lps[1].sum(1) if len(lps) > 1 else 0.0)
            parts.append(seq.float())
        return torch.cat(parts)


def metric_target(model: Any, a: Attribution) -> Any:
    """What trust metrics score: the class index, or a language model's continuation."""
    return ContinuationScore(model, a) if a.modality == "generation" else a.target


def unit_groups(a: Attribution) -> np.ndarray | None:
    """Token -> unit of a language-model attribution merged into words or spans (else None)."""
    groups = a.extras.get("groups") if a.modality == "generation" else None
    return None if groups is None else np.asarray(groups)

"""Small user models (TorchScript, saved here) that load fine, then misbehave on a bright input:
their forward raises, returns NaN or inf, or returns the wrong number of classes."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from tests.models.user_fixtures import IMAGE_SIDECAR

HOW = ("raises", "nan", "inf", "classes")


class Misbehaving(nn.Module):
    """1x8x8 -> 3 logits; on an input with a pixel above 0.5 (after normalisation) it misbehaves
    (the loader's probe feeds zeros, so loading succeeds)."""

    def __init__(self, how: str):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(64, 3)
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(x.flatten(1))
        if bool(x.max() > 0.5):
            if self.how == "raises":
                raise RuntimeError("this model refuses bright pixels")
            if self.how == "nan":
                return torch.full_like(logits, float("nan"))
            if self.how == "inf":
                return logits + float("inf")
            if self.how == "classes":
                return torch.cat([logits, logits], 1)
        return logits


def save_misbehaving(folder: Path, how: str) -> Path:
    """folder/<how>.ts with its sidecar folder/<how>.json (3 classes, 8x8 greyscale)."""
    path = folder / f"{how}.ts"
    torch.jit.save(torch.jit.script(Misbehaving(how)), str(path))
    path.with_suffix(".json").write_text(json.dumps({**IMAGE_SIDECAR, "name": f"bad-{how}"}))
    return path

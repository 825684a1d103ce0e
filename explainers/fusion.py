"""Image+text fusion analyses on top of the method machinery: modality shares, cross-modal maps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution, explain, get_method, model_guard, resolve_target
from models.base import HasFusion, ModelAdapter
from models.errors import InputError, UnsupportedError


def check_fusion_model(model: ModelAdapter) -> None:
    """Raise UnsupportedError unless the model is a fusion model that can take embeddings."""
    if model.info.modality != "fusion" or not isinstance(model, HasFusion):
        raise UnsupportedError(
            f"{model.info.name} is not a fusion model with embed/forward_embeddings (HasFusion; "
            f"modality {model.info.modality!r})")


def explain_fusion(model: ModelAdapter, raw: Any, method: str = "integrated_gradients",
                   target: int | str | None = None, **params: Any) -> Attribution:
    """explain() for a fusion model (kept for callers of the first version): one Captum call
    over (image pixels, token embeddings); values = {"image": [H, W], "text": [n_tokens]}."""
    check_fusion_model(model)
    return explain(model, raw, method, target, **params)


def _fractions(a: float, b: float) -> tuple[float, float]:
    total = abs(a) + abs(b)
    return (abs(a) / total, abs(b) / total) if total > 0 else (0.0, 0.0)


@torch.no_grad()
def modality_share(model: ModelAdapter, raw: Any, attribution: Attribution) -> dict[str, Any]:
    """How much each modality carries, two ways, for the attribution's target class.

    "attribution": fraction of total |attribution| (sum of |values| per modality).
    "ablation": fraction of the output change when a modality is removed: removing the image
    (black, text kept: "text only") changes p(target) by drop["image"]; removing the text (all
    [PAD], image kept: "image only") by drop["text"]; share = |drop| / (|drop_image| + |drop_text|).
    Both shares are 0.0 / 0.0 where nothing changes at all.
    """
    check_fusion_model(model)
    if attribution.kind != "fusion":
        raise InputError(f"modality_share needs a fusion attribution, got a {attribution.kind!r} one")
    t = attribution.target
    a_img, a_txt = (float(np.abs(attribution.values[k]).sum()) for k in ("image", "text"))
    image, ids = model.preprocess(raw)
    black, pad = torch.zeros_like(image), torch.full_like(ids, model.pad_token_id)
    batch = (torch.cat([image, image, black, black]), torch.cat([ids, pad, ids, pad]))
    probs = torch.softmax(model.forward(*batch).float(), -1)[:, t].cpu().numpy()
    full, image_only, text_only, neither = (float(v) for v in probs)
    drop = {"image": full - text_only, "text": full - image_only}
    share_attr, share_abl = _fractions(a_img, a_txt), _fractions(drop["image"], drop["text"])
    return {
        "target": t, "target_label": attribution.target_label, "method": attribution.method,
        "attribution": {"image": share_attr[0], "text": share_attr[1]},
        "ablation": {"image": share_abl[0], "text": share_abl[1]},
        "abs_attribution": {"image": a_img, "text": a_txt},
        "probability": {"full": full, "image_only": image_only, "text_only": text_only,
                        "neither": neither},
        "drop": drop,
    }


@dataclass(frozen=True)
class CrossModal:
    """Which words move which image regions: image attribution with each token masked."""

    tokens: tuple[str, ...]
    target: int
    target_label: str
    method: str
    params: dict[str, Any]
    base: np.ndarray  # [H, W] image attribution with the full text
    masked: np.ndarray  # [T, H, W] image attribution with token t replaced by [PAD]
    difference: np.ndarray  # [T, H, W] base - masked[t]: what word t adds to each pixel's score
    output_change: np.ndarray  # [T] p(target | full) - p(target | token t masked)

    @property
    def influence(self) -> np.ndarray:
        """[T] total |difference| per token: how much each word reshapes the image map."""
        return np.abs(self.difference).reshape(len(self.tokens), -1).sum(1)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON reports."""
        return {"tokens": list(self.tokens), "target": self.target,
                "target_label": self.target_label, "method": self.method, "params": self.params,
                "base": self.base.tolist(), "difference": self.difference.tolist(),
                "output_change": self.output_change.tolist(), "influence": self.influence.tolist()}


def cross_modal(model: ModelAdapter, raw: Any, target: int | str | None = None,
                method: str = "integrated_gradients", **params: Any) -> CrossModal:
    """Image attribution with the full text and with each token masked ([PAD]), in one batched
    call of the method (row 0: the full text; row t + 1: token t masked)."""
    check_fusion_model(model)
    explainer = get_method(method)
    if not explainer.supports(model):
        raise UnsupportedError(explainer.why_not(model))
    with model.lock, model_guard(model):
        idx = resolve_target(model, raw, target)
        image, ids = model.preprocess(raw)
        n = ids.shape[1]
        variants = ids.repeat(n + 1, 1)
        variants[torch.arange(1, n + 1), torch.arange(n)] = model.pad_token_id  # row t+1: t masked
        rows = explainer.attribute(model, (image.repeat(n + 1, 1, 1, 1), variants),
                                   [raw] * (n + 1), [idx] * (n + 1), params)
        rows = rows if isinstance(rows, list) else [rows]
        with torch.no_grad():
            probs = torch.softmax(model.forward(image.repeat(n + 1, 1, 1, 1), variants).float(),
                                  -1)[:, idx]
    maps = np.stack([r.values["image"] for r in rows])  # [n + 1, H, W]
    return CrossModal(
        tokens=tuple(model.tokens(raw)), target=idx, target_label=str(model.info.class_names[idx]),
        method=method, params=rows[0].params, base=maps[0], masked=maps[1:],
        difference=maps[0] - maps[1:],
        output_change=(probs[0] - probs[1:]).cpu().numpy().astype(np.float64))

"""Fusion dispatch: the generic gradient method keys also explain image+text fusion models."""
from __future__ import annotations

from typing import Any

from explainers.base import REGISTRY, Attribution, Explainer, Param
from explainers.fusion import METHODS, PARAMS, STOCHASTIC, check_fusion_model, explain_fusion
from explainers.methods import gradient, path  # noqa: F401  (register the originals first)
from models.base import ModelAdapter
from models.errors import UnsupportedError

FUSION = "fusion"


class FusionDispatch(Explainer):
    """A registered method, widened: fusion models go to explain_fusion, the rest to the original."""

    def __init__(self, name: str, inner: Explainer | None):
        self.name = name
        self.inner = inner
        self.label = inner.label if inner else name.replace("_", " ").capitalize()
        self.modalities = frozenset(inner.modalities if inner else ()) | {FUSION}
        self.params = inner.params if inner else PARAMS[name]
        self.stochastic = bool(inner and inner.stochastic) or name in STOCHASTIC
        self.help = inner.help if inner else f"{name} over image pixels and token embeddings."
        fusion_note = "fusion: embed/forward_embeddings on the adapter"
        self.needs = f"{inner.needs}; {fusion_note}" if getattr(inner, "needs", "") else fusion_note

    def __getattr__(self, attr: str) -> Any:  # needs, param_names, ...: the original's
        if attr == "inner" or self.__dict__.get("inner") is None:
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def params_for(self, model: ModelAdapter) -> tuple[Param, ...]:
        """The knobs for this model: fusion ones for fusion models (the dashboard's widgets)."""
        if model.info.modality == FUSION:
            return PARAMS[self.name]
        return self.inner.params_for(model) if hasattr(self.inner, "params_for") else self.params

    def why_not(self, model: ModelAdapter) -> str:
        if model.info.modality == FUSION:
            try:
                check_fusion_model(model)
            except UnsupportedError as exc:
                return str(exc)
            return ""
        if self.inner is None:
            return f"{self.name} here is only the fusion variant; {model.info.name} is not fusion"
        return self.inner.why_not(model)

    def supports(self, model: ModelAdapter) -> bool:
        return not self.why_not(model)

    def explain(self, model: ModelAdapter, raw: Any, target: int, **params: Any) -> Attribution:
        if model.info.modality == FUSION:
            return explain_fusion(model, raw, self.name, target, **params)
        if self.inner is None:
            raise UnsupportedError(self.why_not(model))
        return self.inner.explain(model, raw, target, **params)


def install() -> None:
    """Wrap every fusion-capable key in the registry (idempotent)."""
    for name in METHODS:
        current = REGISTRY.get(name)
        if not isinstance(current, FusionDispatch):
            REGISTRY[name] = FusionDispatch(name, current)


install()

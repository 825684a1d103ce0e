"""Stand-in methods (direct Captum calls) for the trust-score tests, registered only per test."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from explainers.base import REGISTRY, Attribution, Explainer, Param
from models.base import HasEmbeddingLayer

ALL = frozenset({"image", "tabular", "text"})


def _values(model, t: torch.Tensor) -> np.ndarray:
    """Captum output -> map: channels summed for images, embedding dims summed for tokens."""
    v = t.detach().float().cpu()[0]
    if model.info.modality == "image":
        v = v.sum(0)
    elif model.info.modality == "text":
        v = v.sum(-1)
    return v.numpy().astype(np.float64)


def _result(model, raw, target: int, name: str, values, params, delta=None) -> Attribution:
    return Attribution(values=values, units=model.units(raw) if values.ndim == 1 else (),
                       method=name, target=target, target_label=model.info.class_names[target],
                       params=params, delta=delta, model_name=model.info.name,
                       modality=model.info.modality)


def _x(model, raw) -> torch.Tensor:
    return model.preprocess(raw).detach().requires_grad_(model.info.modality != "text")


class TSaliency(Explainer):
    name, label, modalities = "t_saliency", "Saliency (test)", ALL

    def explain(self, model, raw, target, **params: Any) -> Attribution:
        from captum.attr import LayerGradientXActivation, Saliency

        x = _x(model, raw)
        if isinstance(model, HasEmbeddingLayer):
            lg = LayerGradientXActivation(model.forward, model.embedding_layer, multiply_by_inputs=False)
            att = lg.attribute(x, target=target).abs()
        else:
            att = Saliency(model.forward).attribute(x, target=target, abs=True)
        return _result(model, raw, target, self.name, _values(model, att), self.resolve(params))


class TIG(Explainer):
    name, label, modalities = "t_ig", "Integrated gradients (test)", ALL
    params: ClassVar[tuple[Param, ...]] = (Param("n_steps", "int", 32, min=2, max=512),)

    def explain(self, model, raw, target, **params: Any) -> Attribution:
        from captum.attr import IntegratedGradients, LayerIntegratedGradients

        p = self.resolve(params)
        x = _x(model, raw)
        if isinstance(model, HasEmbeddingLayer):
            ig = LayerIntegratedGradients(model.forward, model.embedding_layer)
            base = torch.full_like(x, model.pad_token_id)
        else:
            ig = IntegratedGradients(model.forward)
            base = model.baseline(x.detach(), "mean")
        att, delta = ig.attribute(x, base, target=target, n_steps=p["n_steps"],
                                  return_convergence_delta=True)
        return _result(model, raw, target, self.name, _values(model, att), p, float(delta[0]))


class TSmoothGrad(Explainer):
    name, label, modalities = "t_smoothgrad", "SmoothGrad (test)", frozenset({"image", "tabular"})
    stochastic = True
    params: ClassVar[tuple[Param, ...]] = (Param("nt_samples", "int", 8, min=1, max=200),
                                           Param("stdevs", "float", 0.3, min=0.0, max=5.0))

    def explain(self, model, raw, target, **params: Any) -> Attribution:
        from captum.attr import NoiseTunnel, Saliency

        p = self.resolve(params)
        torch.manual_seed(int(params.get("seed", 0)))
        att = NoiseTunnel(Saliency(model.forward)).attribute(
            _x(model, raw), nt_type="smoothgrad", nt_samples=p["nt_samples"], stdevs=p["stdevs"],
            target=target)
        return _result(model, raw, target, self.name, _values(model, att), p)


class TRandom(Explainer):
    """Uniform noise: a map that knows nothing about the model (the reference for 'bad')."""

    name, label, modalities, stochastic = "t_random", "Random (test)", ALL, True

    def explain(self, model, raw, target, **params: Any) -> Attribution:
        shape = _values(model, _x(model, raw).float() if model.info.modality != "text"
                        else model.preprocess(raw)[..., None].float()).shape
        rng = np.random.default_rng(int(params.get("seed", 0)))
        return _result(model, raw, target, self.name, rng.uniform(-1, 1, shape), self.resolve(params))


class TInput(Explainer):
    """The input itself (an 'edge detector'): the map ignores the model, so sanity must flag it."""

    name, label, modalities = "t_input", "Input (test)", frozenset({"image", "tabular"})

    def explain(self, model, raw, target, **params: Any) -> Attribution:
        return _result(model, raw, target, self.name, _values(model, model.preprocess(raw)),
                       self.resolve(params))


STAND_INS = (TSaliency, TIG, TSmoothGrad, TRandom, TInput)


def register_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the stand-ins in the registry for one test only (monkeypatch restores it)."""
    import explainers.methods  # noqa: F401  (the real registry first, so ours are additions)

    for cls in STAND_INS:
        monkeypatch.setitem(REGISTRY, cls.name, cls())

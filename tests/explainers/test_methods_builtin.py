"""Every registered method x every built-in model, driven by the two registries.

A built-in whose module or weights are not in the tree yet is skipped with the reason; once it
loads, every method it supports must run and return aligned values, and every method it does not
support must say why and refuse.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from explainers import explain, get_method
from explainers.base import REGISTRY, _load_methods
from models import list_models, load_model
from models.base import HasSamples
from models.errors import ModelLoadError, UnsupportedError
from tests.explainers.test_methods import cheap

HEAVY = {"imagenet-efficientnet", "sentiment-minilm", "digit-text-fusion"}
SLOW_METHODS = {"shap_partition"}


@functools.cache
def loaded(name: str):
    """(model, raw) or the reason it cannot be loaded yet."""
    try:
        model = load_model(name, device="cpu")
    except (ModuleNotFoundError, ModelLoadError) as exc:
        return None, f"{name} is not built yet: {exc}"
    raw = model.samples(1, seed=0)[0][0] if isinstance(model, HasSamples) else None
    if model.info.modality == "generation":
        raw = "the film is"  # a prompt; the target is the model's greedy continuation
    return model, raw


def cases():
    _load_methods()
    for name in list_models():
        for method in REGISTRY:
            slow = name in HEAVY or method in SLOW_METHODS
            yield pytest.param(name, method, id=f"{name}-{method}",
                               marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("name,method", cases())
def test_method_on_builtin(name, method):
    model, raw = loaded(name)
    if model is None:
        pytest.fail(raw)  # every built-in ships its weights
    explainer = get_method(method)
    if not explainer.supports(model):
        assert explainer.why_not(model)
        with pytest.raises(UnsupportedError):
            explain(model, raw, method)
        return
    accepted = {p.name for p in explainer.params_for(model)}  # fusion models take their own knobs
    knobs = {k: v for k, v in cheap(method).items() if k in accepted}
    if model.info.modality == "generation":
        knobs["max_new_tokens"] = 4
    a = explain(model, raw, method, **knobs)
    if isinstance(a.values, dict):  # fusion: one map per modality
        assert set(a.values) <= {"image", "text"}
        return
    values = np.asarray(a.values)
    assert np.isfinite(values).all()
    if model.info.modality == "image":
        assert values.shape == tuple(model.display_image(raw).shape[:2])
    else:
        assert values.shape == (len(a.units),) and len(a.units) == len(model.units(raw))
    if model.info.modality == "generation":
        assert a.target == -1 and a.target_label == model.tokenizer.decode(
            model.generate_ids(raw, 4).tolist())
        return
    assert a.target_label == model.info.class_names[a.target]

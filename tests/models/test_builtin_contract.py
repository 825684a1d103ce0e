"""Every built-in model satisfies the adapter contract (shapes, probabilities, determinism, frozen)."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from models import (
    HasBaselines,
    HasImage,
    HasSamples,
    HasTargetLayer,
    ModelAdapter,
    list_models,
    load_model,
)
from models.data import skimage_photo

BUILTINS = ["breast-cancer-mlp", "mnist-cnn", "imagenet-efficientnet", "sentiment-bag",
            "sentiment-minilm"]
SLOW = {"imagenet-efficientnet", "sentiment-minilm"}  # load a few seconds of weights
PARAMS = [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in BUILTINS]


@functools.cache
def model(name: str) -> ModelAdapter:
    return load_model(name, device="cpu")


def a_raw_input(m: ModelAdapter):
    if isinstance(m, HasSamples):
        return m.samples(1, seed=0)[0][0]
    return skimage_photo("chelsea")


def test_builtins_are_listed():
    assert set(BUILTINS) <= set(list_models())


@pytest.mark.parametrize("name", PARAMS)
def test_contract_shapes_and_probabilities(name):
    m = model(name)
    assert isinstance(m, ModelAdapter)
    assert m.info.name == name and m.device == torch.device("cpu")
    raw = a_raw_input(m)
    x = m.as_tuple(m.preprocess(raw))
    assert all(t.shape[0] == 1 and t.device == m.device for t in x)
    with torch.no_grad():
        logits = m.forward(*x)
    assert logits.shape == (1, m.info.num_classes)
    probs = m.predict(raw)
    assert probs.shape == (m.info.num_classes,)
    assert np.isclose(probs.sum(), 1.0, atol=1e-5) and (probs >= 0).all()
    np.testing.assert_allclose(probs, torch.softmax(logits, -1)[0].numpy(), atol=1e-6)


@pytest.mark.parametrize("name", PARAMS)
def test_deterministic_and_frozen(name):
    m = model(name)
    raw = a_raw_input(m)
    np.testing.assert_array_equal(m.predict(raw), m.predict(raw))
    assert not m.module.training
    assert all(not mod.training for mod in m.module.modules())
    assert not any(p.requires_grad for p in m.module.parameters())
    assert m.info.card.get("licence") and m.info.card.get("credits")
    assert m.info.description and len(m.info.description) < 120


@pytest.mark.parametrize("name", PARAMS)
def test_units_align_with_input(name):
    m = model(name)
    raw = a_raw_input(m)
    units = m.units(raw)
    if m.info.modality == "tabular":
        assert units == m.info.feature_names and m.preprocess(raw).shape[1] == len(units)
    elif m.info.modality == "text":
        assert len(units) == m.preprocess(raw).shape[1]
    else:
        assert units == ()


@pytest.mark.parametrize("name", PARAMS)
def test_capabilities(name):
    m = model(name)
    raw = a_raw_input(m)
    x = m.as_tuple(m.preprocess(raw))[0]
    if isinstance(m, HasBaselines):
        for kind in m.baseline_kinds:
            b = m.baseline(x, kind)
            assert b.shape == x.shape and b.dtype == x.dtype and b.device == x.device
        bg = m.background(4, seed=0)
        assert bg.shape[0] == 4 and bg.shape[1:] == x.shape[1:]
        assert torch.equal(bg, m.background(4, seed=0))
    if isinstance(m, HasImage):
        img = m.display_image(raw)
        assert img.dtype == np.uint8 and img.shape == (*x.shape[-2:], 3)
    if isinstance(m, HasTargetLayer):
        layers = m.conv_layers()
        assert m.default_target_layer in layers
        assert list(layers)[-1] == m.default_target_layer
    if isinstance(m, HasSamples):
        samples = m.samples(3, seed=1)
        assert len(samples) == 3
        assert all(0 <= y < m.info.num_classes for _, y in samples)
        assert _same_samples(samples, m.samples(3, seed=1))


def _same_samples(a, b) -> bool:
    if isinstance(a[0][0], dict):
        return a == b
    return all(ya == yb and np.array_equal(np.asarray(ra), np.asarray(rb))
               for (ra, ya), (rb, yb) in zip(a, b, strict=True))


def test_every_builtin_has_a_trainer_and_unknown_names_are_refused():
    from models.errors import UnknownNameError
    from models.train import TRAINERS, trainer

    assert set(BUILTINS) <= set(TRAINERS)
    assert all(callable(trainer(name)) for name in BUILTINS)
    with pytest.raises(UnknownNameError, match="'nope'.*mnist-cnn"):
        trainer("nope")


def test_splits_are_stratified_and_fixed():
    from models.data import breast_cancer, mnist

    s = mnist()
    assert np.bincount(s.y_train).tolist() == [400] * 10
    assert np.bincount(s.y_test).tolist() == [100] * 10
    b = breast_cancer()
    assert len(b.y_test) == 114 and abs(b.y_test.mean() - b.y_train.mean()) < 0.01
    with pytest.raises(ValueError):
        s.x_test[0, 0, 0] = 1  # cached splits are read-only


@pytest.mark.parametrize("name", ["breast-cancer-mlp"])
def test_device_env_var_is_respected(name, monkeypatch):
    monkeypatch.setenv("GLASSBOX_DEVICE", "cpu")
    m = load_model(name)
    assert m.device == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in m.module.parameters())
    monkeypatch.setenv("GLASSBOX_DEVICE", "no-such-device")
    with pytest.raises(ValueError, match="no-such-device"):
        load_model(name)

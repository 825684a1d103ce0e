"""The generic method keys reach explain_fusion for fusion models and the originals for the rest."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from explainers import REGISTRY, explain, list_methods
from explainers.fusion import METHODS, PARAMS, explain_fusion
from explainers.methods import fusion_methods
from models import UnsupportedError, load_model


@functools.cache
def fusion():
    return load_model("digit-text-fusion", device="cpu")


def raw() -> dict:
    return fusion().samples(1, seed=0)[0][0]


def test_install_is_idempotent_and_wraps_every_fusion_key():
    fusion_methods.install()
    fusion_methods.install()
    for key in METHODS:
        entry = REGISTRY[key]
        assert isinstance(entry, fusion_methods.FusionDispatch)
        assert not isinstance(entry.inner, fusion_methods.FusionDispatch)


def test_list_methods_for_a_fusion_model_are_the_fusion_keys():
    assert set(list_methods(fusion())) == set(METHODS)
    for key in METHODS:
        assert REGISTRY[key].params_for(fusion()) == PARAMS[key]


@pytest.mark.parametrize("method", ["integrated_gradients", "input_x_gradient"])
def test_explain_dispatches_to_explain_fusion(method):
    a = explain(fusion(), raw(), method, seed=0)
    direct = explain_fusion(fusion(), raw(), method)
    assert a.kind == "fusion" and a.model_name == "digit-text-fusion"
    np.testing.assert_array_equal(a.values["image"], direct.values["image"])
    np.testing.assert_array_equal(a.values["text"], direct.values["text"])
    assert a.params == direct.params and a.target == direct.target


def test_other_models_still_get_the_original_method():
    tab = load_model("breast-cancer-mlp", device="cpu")
    row = tab.samples(1, seed=0)[0][0]
    a = explain(tab, row, "integrated_gradients", n_steps=16)
    assert a.kind == "features" and a.units == tab.info.feature_names
    with pytest.raises(UnsupportedError):
        explain(fusion(), raw(), "attention")

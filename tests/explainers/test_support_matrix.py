"""The registry's support matrix (which method is offered for which built-in) is the expected
one, and explain_batch gives, row for row, what explain() gives one input at a time."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from explainers import REGISTRY, explain, explain_batch, get_method, list_methods
from models import list_models, load_model

BUILTINS = {"M": "mnist-cnn", "E": "imagenet-efficientnet", "L": "sentiment-minilm",
            "B": "sentiment-bag", "T": "breast-cancer-mlp", "F": "digit-text-fusion",
            "G": "review-gpt"}
# one row per method: the built-ins (letters above) it is offered for, and whether it
# back-propagates. A new method adds one row.
MATRIX = {
    "saliency": ("MELBTFG", True),
    "input_x_gradient": ("MELBTFG", True),
    "integrated_gradients": ("MELBTFG", True),
    "smoothgrad": ("METF", True),  # noise on token ids means nothing
    "deeplift": ("MELBT", True),
    "gradient_shap": ("METF", True),
    "deeplift_shap": ("MET", True),
    "guided_backprop": ("ME", True),
    "grad_cam": ("ME", True),
    "guided_grad_cam": ("ME", True),
    "shap_gradient": ("MET", True),
    "occlusion": ("MELBT", False),
    "feature_ablation": ("MELBTFG", False),
    "lime": ("MELBTFG", False),
    "kernel_shap": ("MELBTFG", False),
    "shap_partition": ("MELBT", False),
    "attention": ("LG", False),
    "attention_rollout": ("LG", False),
    "lrp": ("MT", True),  # EfficientNet's ReLU6 and ZeroPad2d have no LRP rule
    "shapley_value_sampling": ("MELBTFG", False),
}


def offered_for(name: str) -> set[str]:
    letter = next(k for k, v in BUILTINS.items() if v == name)
    return {m for m, (models, _) in MATRIX.items() if letter in models}


@functools.cache
def model(name: str):
    return load_model(name, device="cpu")


def test_the_matrix_has_a_row_for_every_registered_method():
    assert set(MATRIX) == set(list_methods())


@pytest.mark.parametrize("name", sorted(BUILTINS.values()))
def test_support_matrix(name):
    m = model(name)
    offered, expected = set(list_methods(m)), offered_for(name)
    assert offered == expected, (sorted(offered - expected), sorted(expected - offered))
    for key in set(REGISTRY) - offered:  # each refusal is a sentence naming the method
        why = get_method(key).why_not(m)
        assert why.startswith(key) and "\n" not in why


def test_every_builtin_is_in_the_matrix():
    assert set(BUILTINS.values()) <= set(list_models())


def test_declared_gradient_methods_are_the_gradient_methods():
    assert {k for k in list_methods() if get_method(k).gradients} == {
        k for k, (_, grads) in MATRIX.items() if grads}


@pytest.mark.parametrize("method,params", [
    ("integrated_gradients", {"n_steps": 12}), ("saliency", {}), ("input_x_gradient", {}),
    ("grad_cam", {}), ("occlusion", {"sliding_window_shapes": 7, "strides": 7}),
    ("deeplift", {}), ("kernel_shap", {"n_samples": 20, "feature_mask": "grid"})])
def test_explain_batch_rows_equal_single_explanations(method, params):
    m = model("mnist-cnn")
    samples = m.samples(4, seed=1)
    raws, targets = [r for r, _ in samples], [int(y) for _, y in samples]
    rows = explain_batch(m, raws, method, targets, seed=0, **params)
    assert len(rows) == 4
    for raw, t, a in zip(raws, targets, rows, strict=True):
        one = explain(m, raw, method, target=t, seed=0, **params)
        assert a.target == t and a.params == one.params
        np.testing.assert_allclose(a.values, one.values, rtol=1e-4, atol=1e-5)
        assert a.output == pytest.approx(one.output, rel=1e-5)
        if one.delta is not None:
            assert a.delta == pytest.approx(one.delta, rel=1e-3, abs=1e-4)
        if "cam" in one.extras:
            np.testing.assert_allclose(a.extras["cam"], one.extras["cam"], rtol=1e-4, atol=1e-6)

"""Many inputs per Captum call: the batched rows equal per-input explain(), OOM halves and retries."""
from __future__ import annotations

import numpy as np
import pytest

from explainers import explain
from explainers.base import get_method
from explainers.methods.batch import can_batch, explain_many
from models import load_model

N = 6


@pytest.fixture(scope="module")
def mnist():
    return load_model("mnist-cnn", device="cpu")


@pytest.fixture(scope="module")
def digits(mnist):
    raws = [r for r, _ in mnist.samples(N, seed=3)]
    return raws, [int(np.argmax(mnist.predict(r))) for r in raws]


CASES = [
    ("saliency", {}),
    ("input_x_gradient", {}),
    ("integrated_gradients", {"n_steps": 16}),
    ("integrated_gradients", {"n_steps": 12, "baselines": "blur"}),
    ("grad_cam", {}),
    ("occlusion", {"sliding_window_shapes": 7, "strides": 7}),
]


@pytest.mark.parametrize(("method", "params"), CASES, ids=[f"{m}-{i}" for i, (m, _) in
                                                         enumerate(CASES)])
def test_batched_rows_equal_per_input_explain(mnist, digits, method, params):
    raws, targets = digits
    assert can_batch(mnist, method)
    batched = explain_many(mnist, raws, method, targets, **params)
    assert len(batched) == N
    for raw, t, b in zip(raws, targets, batched, strict=True):
        one = explain(mnist, raw, method, t, **params)
        assert b.values.shape == one.values.shape
        np.testing.assert_allclose(b.values, one.values, atol=1e-5, rtol=0)
        assert b.target == one.target and b.params == one.params
        assert b.output == pytest.approx(one.output, abs=1e-5)
        if one.delta is not None:
            assert b.delta == pytest.approx(one.delta, abs=1e-5)


def test_batched_targets_are_per_input(mnist, digits):
    """Each input is explained for its own target, not the first one's."""
    raws, _ = digits
    targets = [i % 10 for i in range(N)]
    for b, raw, t in zip(explain_many(mnist, raws, "saliency", targets), raws, targets,
                         strict=True):
        assert b.target == t
        np.testing.assert_allclose(b.values, explain(mnist, raw, "saliency", t).values,
                                   atol=1e-5)


def test_text_inputs_of_different_lengths_batch_by_length():
    bag = load_model("sentiment-bag", device="cpu")
    texts = ["a fine film", "dull", "a warm and funny film", "dull and slow", "great fun"]
    targets = [1, 0, 1, 0, 1]
    for b, text, t in zip(explain_many(bag, texts, "integrated_gradients", targets, n_steps=8),
                          texts, targets, strict=True):
        one = explain(bag, text, "integrated_gradients", t, n_steps=8)
        assert b.units == one.units
        np.testing.assert_allclose(b.values, one.values, atol=1e-5)


def test_methods_that_cannot_batch_fall_back_to_explain(mnist, digits):
    raws, targets = digits
    assert not get_method("lime").batchable
    assert not can_batch(mnist, "lime")
    got = explain_many(mnist, raws[:2], "feature_ablation", targets[:2], n_segments=8)
    for raw, t, b in zip(raws[:2], targets[:2], got, strict=True):
        np.testing.assert_allclose(b.values, explain(mnist, raw, "feature_ablation", t,
                                                     n_segments=8).values)


def test_out_of_memory_halves_the_inputs_per_call(mnist, digits, monkeypatch):
    """A forward over more than 2 inputs raises CUDA's OOM message: the batch is halved until it
    fits, and the rows are still those of explain()."""
    raws, targets = digits
    real = mnist.forward
    sizes = []

    def small_memory(*x):
        sizes.append(x[0].shape[0])
        if x[0].shape[0] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*x)

    monkeypatch.setattr(mnist, "forward", small_memory)
    got = explain_many(mnist, raws, "saliency", targets)
    monkeypatch.setattr(mnist, "forward", real)
    assert max(sizes) > 2 and sizes[-1] <= 2
    for raw, t, b in zip(raws, targets, got, strict=True):
        np.testing.assert_allclose(b.values, explain(mnist, raw, "saliency", t).values,
                                   atol=1e-5)

"""Fusion explanations: completeness over both inputs, each half against Captum, shares, cross-modal."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from explainers import list_methods
from explainers.fusion import cross_modal, explain_fusion, modality_share
from models import InputError, UnknownNameError, UnsupportedError, load_model
from models.builtin.fusion_data import WORDS


@functools.cache
def model():
    return load_model("digit-text-fusion", device="cpu")


@functools.cache
def digits(n: int = 8) -> list[tuple[np.ndarray, int]]:
    """n held-out MNIST digits (clean), spread over the classes."""
    from models.data import mnist

    s = mnist()
    idx = np.random.default_rng(0).choice(len(s.y_test), n, replace=False)
    return [(s.x_test[i], int(s.y_test[i])) for i in idx]


def noise_image(seed: int) -> np.ndarray:
    """A 'blank' image with no digit in it: clipped Gaussian noise, as in the blank condition."""
    rng = np.random.default_rng(seed)
    return (np.clip(rng.normal(0, 0.3, (28, 28)), 0, 1) * 255).round().astype(np.uint8)


@pytest.mark.parametrize("text", ["something", "a handwritten seven", "this is not a five", ""])
def test_integrated_gradients_is_complete_across_both_inputs(text):
    """sum(image) + sum(text) = f(x) - f(black, [PAD]) for the target logit, within 1 % + 0.01."""
    for img, _ in digits()[:2]:
        m = model()
        a = explain_fusion(m, {"image": img, "text": text}, n_steps=100)
        image, ids = m.preprocess({"image": img, "text": text})
        base = m.forward(torch.zeros_like(image), torch.full_like(ids, m.pad_token_id))
        gap = a.output - float(base[0, a.target])
        total = a.values["image"].sum() + a.values["text"].sum()
        assert abs(total - gap) <= 0.01 * abs(gap) + 0.01, (total, gap)
        assert a.delta == pytest.approx(abs(total - gap), abs=1e-4)
        assert a.values["image"].shape == (28, 28) and len(a.values["text"]) == len(a.units["text"])


def test_text_half_equals_layer_integrated_gradients_on_the_embedding():
    """With the image at its (black) baseline only the text moves: Captum's LayerIG on the
    embedding layer must give the same token scores, and the image gets exactly zero."""
    from captum.attr import LayerIntegratedGradients

    m = model()
    raw = {"image": np.zeros((28, 28), np.uint8), "text": "definitely the number 3"}
    a = explain_fusion(m, raw, n_steps=64, integration_method="riemann_trapezoid")
    image, ids = m.preprocess(raw)
    lig = LayerIntegratedGradients(lambda i: m.forward(image.expand(len(i), -1, -1, -1), i),
                                   m.embedding_layer)
    ref = lig.attribute(ids, baselines=torch.full_like(ids, m.pad_token_id), target=a.target,
                        n_steps=64, method="riemann_trapezoid")
    np.testing.assert_allclose(a.values["text"], ref[0].sum(-1).double().numpy(), atol=1e-4)
    assert np.all(a.values["image"] == 0.0)


def test_image_half_equals_integrated_gradients_on_the_image():
    """With no text (one [PAD] = the text baseline) the image map is plain Captum IG."""
    from captum.attr import IntegratedGradients

    m = model()
    img, label = digits()[0]
    raw = {"image": img, "text": ""}
    a = explain_fusion(m, raw, target=label, n_steps=32)
    image, ids = m.preprocess(raw)
    ig = IntegratedGradients(lambda x: m.forward(x, ids.expand(len(x), -1)))
    ref = ig.attribute(image, baselines=torch.zeros_like(image), target=label, n_steps=32)
    np.testing.assert_allclose(a.values["image"], ref[0, 0].double().numpy(), atol=1e-5)
    assert np.all(a.values["text"] == 0.0)


def test_input_x_gradient_is_input_times_signed_saliency():
    m = model()
    img, label = digits()[1]
    raw = {"image": img, "text": "a handwritten digit"}
    ixg = explain_fusion(m, raw, "input_x_gradient", target=label)
    grad = explain_fusion(m, raw, "saliency", target=label, abs=False)
    pixels = m.preprocess(raw)[0][0, 0].double().numpy()
    np.testing.assert_allclose(ixg.values["image"], pixels * grad.values["image"], atol=1e-6)


@pytest.mark.parametrize("method", list_methods(model()))
def test_every_method_gives_aligned_finite_maps_and_leaves_the_model_clean(method):
    m = model()
    img, _ = digits()[2]
    raw = {"image": img, "text": "i think it is a seven"}
    a = explain_fusion(m, raw, method, seed=1)
    assert a.kind == "fusion" and a.modality == "fusion" and a.method == method
    assert a.values["image"].shape == (28, 28) and a.units["text"] == m.tokens(raw)
    assert all(np.isfinite(v).all() for v in a.values.values())
    assert "modality_share" in a.plots()
    again = explain_fusion(m, raw, method, seed=1)
    np.testing.assert_array_equal(a.values["image"], again.values["image"])
    assert not any(p.requires_grad for p in m.module.parameters())
    assert all(not mod._forward_hooks and not mod._backward_hooks for mod in m.module.modules())


def test_gradient_shap_completeness_is_against_the_background_expectation():
    a = explain_fusion(model(), {"image": digits()[3][0], "text": "a digit"}, "gradient_shap",
                       n_samples=200, n_baselines=20)
    total = a.values["image"].sum() + a.values["text"].sum()
    assert a.base_value is not None
    assert abs(total - (a.output - a.base_value)) == pytest.approx(a.delta, abs=1e-4)
    assert a.delta <= 0.1 * abs(a.output - a.base_value) + 0.1  # an expectation, sampled


def test_uninformative_text_leaves_the_image_dominant():
    """'something' is paired with every digit in training, so it says nothing: on clean
    held-out digits the image carries > 90 % of |IG| and of the ablation change."""
    m = model()
    abl = []
    for img, _ in digits():
        raw = {"image": img, "text": "something"}
        share = modality_share(m, raw, explain_fusion(m, raw))
        assert share["attribution"]["image"] > 0.9, share
        assert share["attribution"]["image"] + share["attribution"]["text"] == pytest.approx(1)
        abl.append(share["ablation"]["image"])
    assert min(abl) > 0.8 and np.mean(abl) > 0.9


def test_blank_image_leaves_the_text_dominant():
    """A black image is the IG baseline itself, so its attribution is exactly zero (and removing
    it changes nothing); a noise-only image holds no digit, so the named digit wins and the text
    carries most of |IG| and nearly all of the ablation change."""
    m = model()
    black = {"image": np.zeros((28, 28), np.uint8), "text": "a handwritten four"}
    share = modality_share(m, black, explain_fusion(m, black))
    assert share["attribution"] == {"image": 0.0, "text": 1.0}
    assert share["ablation"] == {"image": 0.0, "text": 1.0}
    text_attr = []
    for digit in range(10):
        raw = {"image": noise_image(digit), "text": f"a handwritten {WORDS[digit]}"}
        a = explain_fusion(m, raw)
        share = modality_share(m, raw, a)
        assert a.target == digit
        assert share["ablation"]["text"] > 0.9 and share["attribution"]["text"] > 0.5, share
        text_attr.append(share["attribution"]["text"])
    assert np.mean(text_attr) > 0.75


def test_modality_share_probabilities_are_the_ablated_predictions():
    m = model()
    img, _ = digits()[4]
    raw = {"image": img, "text": "probably a three"}
    share = modality_share(m, raw, explain_fusion(m, raw))
    p, t = share["probability"], share["target"]
    assert p["full"] == pytest.approx(m.predict(raw)[t], abs=1e-6)
    assert p["image_only"] == pytest.approx(m.predict({"image": img, "text": ""})[t], abs=1e-6)
    blank = {"image": np.zeros((28, 28), np.uint8), "text": "probably a three"}
    assert p["text_only"] == pytest.approx(m.predict(blank)[t], abs=1e-6)
    assert share["drop"]["text"] == pytest.approx(p["full"] - p["image_only"])


def test_cross_modal_rows_equal_explanations_with_the_word_removed():
    """Row t is the image map with token t masked ([PAD] = the word deleted, the text branch
    sums embeddings), so it must equal explaining the phrase without that word."""
    m = model()
    img, _ = digits()[5]
    words = ["definitely", "the", "number", "3"]
    raw = {"image": img, "text": " ".join(words)}
    cm = cross_modal(m, raw, n_steps=32)
    assert cm.tokens == tuple(words) and cm.difference.shape == (4, 28, 28)
    full = explain_fusion(m, raw, target=cm.target, n_steps=32)
    np.testing.assert_allclose(cm.base, full.values["image"], atol=1e-5)
    for t in (0, 3):
        cut = {"image": img, "text": " ".join(words[:t] + words[t + 1:])}
        ref = explain_fusion(m, cut, target=cm.target, n_steps=32)
        np.testing.assert_allclose(cm.masked[t], ref.values["image"], atol=1e-5)
        expected = m.predict(raw)[cm.target] - m.predict(cut)[cm.target]
        assert cm.output_change[t] == pytest.approx(expected, abs=1e-5)
    np.testing.assert_allclose(cm.difference, cm.base[None] - cm.masked)
    assert cm.influence.shape == (4,) and len(cm.to_dict()["difference"]) == 4


def test_bad_method_params_and_models_are_clear_errors():
    m = model()
    raw = {"image": digits()[0][0], "text": "a one"}
    with pytest.raises(UnsupportedError, match="grad_cam.*integrated_gradients"):
        explain_fusion(m, raw, "grad_cam")
    with pytest.raises(UnknownNameError, match="n_stepz"):
        explain_fusion(m, raw, n_stepz=3)
    with pytest.raises(InputError, match="purple"):
        explain_fusion(m, raw, baselines="purple")
    with pytest.raises(InputError, match="out of range"):
        explain_fusion(m, raw, target=12)
    with pytest.raises(UnsupportedError, match="not a fusion model"):
        explain_fusion(load_model("breast-cancer-mlp", device="cpu"), {}, "saliency")

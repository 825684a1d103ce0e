"""Language-model methods equal the direct Captum LLMAttribution / LLMGradientAttribution calls.

Captum 0.9's default use_cached_outputs=True computes wrong log-probabilities with transformers
5.23 from the second continuation token on (checked below), so the reference calls use
use_cached_outputs=False, which gives the exact token-by-token log-probabilities.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers import explain
from tests.explainers.gen_models import KINDS, PROMPT, TARGET, lm

TOL = dict(rtol=1e-4, atol=1e-5)


def captum_perturbation(m, cls, **kw):
    from captum.attr import LLMAttribution, TextTokenInput

    llm = LLMAttribution(cls(m.module), m.tokenizer)
    return llm.attribute(TextTokenInput(PROMPT, m.tokenizer), target=TARGET,
                         use_cached_outputs=False, **kw)


def captum_gradient(m, algo):
    from captum.attr import LLMGradientAttribution, TextTokenInput

    return LLMGradientAttribution(algo, m.tokenizer).attribute(
        TextTokenInput(PROMPT, m.tokenizer), target=TARGET)


@pytest.mark.parametrize("kind", KINDS)
def test_feature_ablation_equals_captum(kind):
    from captum.attr import FeatureAblation

    m = lm(kind)
    ref = captum_perturbation(m, FeatureAblation)
    a = explain(m, PROMPT, "feature_ablation", target=TARGET)
    np.testing.assert_allclose(a.values, ref.seq_attr.numpy(), **TOL)
    np.testing.assert_allclose(a.extras["token_attr"], ref.token_attr.numpy(), **TOL)
    assert len(a.units) == len(ref.input_tokens) and a.target == -1
    assert a.extras["output_tokens"] == tuple(" " * t.startswith("Ġ") + t.lstrip("Ġ") for t in
                                              m.tokenizer.convert_ids_to_tokens(
                                                  m.continuation_ids(TARGET)))
    assert a.output == pytest.approx(m.log_prob(PROMPT, TARGET), rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_sequence_forward_equals_captum_token_by_token(kind):
    from captum.attr import FeatureAblation

    m = lm(kind)
    a = captum_perturbation(m, FeatureAblation, forward_in_tokens=False)
    b = captum_perturbation(m, FeatureAblation)
    np.testing.assert_allclose(a.token_attr.numpy(), b.token_attr.numpy(), **TOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method,cls", [("lime", "Lime"), ("kernel_shap", "KernelShap")])
def test_sampling_methods_equal_captum_with_the_same_seed(kind, method, cls):
    import captum.attr

    m = lm(kind)
    torch.manual_seed(0)
    ref = captum_perturbation(m, getattr(captum.attr, cls))
    a = explain(m, PROMPT, method, target=TARGET)  # seed 0, Captum's n_samples default
    np.testing.assert_allclose(a.values, ref.seq_attr.numpy(), **TOL)
    assert "token_attr" not in a.extras  # Captum gives no per-token rows for these two


@pytest.mark.parametrize("kind", KINDS)
def test_integrated_gradients_equals_captum(kind):
    from captum.attr import LayerIntegratedGradients

    m = lm(kind)
    ref = captum_gradient(m, LayerIntegratedGradients(m.module, m.embedding_layer))
    a = explain(m, PROMPT, "integrated_gradients", target=TARGET)
    np.testing.assert_allclose(a.values, ref.seq_attr.numpy(), **TOL)
    np.testing.assert_allclose(a.extras["token_attr"], ref.token_attr.numpy(), **TOL)
    seq_only = explain(m, PROMPT, "integrated_gradients", target=TARGET, per_token=False)
    np.testing.assert_allclose(seq_only.values, ref.seq_attr.numpy(), **TOL)
    assert "token_attr" not in seq_only.extras


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method,multiply", [("input_x_gradient", True), ("saliency", False)])
def test_gradient_methods_equal_captum(kind, method, multiply):
    from captum.attr import LayerGradientXActivation

    m = lm(kind)
    algo = LayerGradientXActivation(m.module, m.embedding_layer, multiply_by_inputs=multiply)
    ref = captum_gradient(m, algo)
    params = {} if multiply else {"abs": False}  # Captum sums the signed gradient
    a = explain(m, PROMPT, method, target=TARGET, **params)
    np.testing.assert_allclose(a.values, ref.seq_attr.numpy(), **TOL)
    np.testing.assert_allclose(a.extras["token_attr"], ref.token_attr.numpy(), **TOL)


def test_integrated_gradients_completeness_within_delta():
    m = lm("gpt2")
    a = explain(m, PROMPT, "integrated_gradients", target=TARGET, n_steps=300)
    base = explain(m, PROMPT, "integrated_gradients", target=TARGET, n_steps=4)
    assert a.delta < 1e-3 * max(1.0, abs(float(np.sum(a.values))))
    assert a.delta <= base.delta + 1e-6  # more steps, closer to f(x) - f(baseline)
    # token rows add up to the sequence attribution (log p is a sum over tokens)
    np.testing.assert_allclose(a.extras["token_attr"].sum(0), a.values, rtol=1e-5, atol=1e-6)


def test_captum_default_cache_disagrees_with_the_model_here():
    """Why the references above use use_cached_outputs=False (a transformers 5.23 interaction)."""
    from captum.attr import FeatureAblation, LLMAttribution, TextTokenInput

    m = lm("gpt2")
    llm = LLMAttribution(FeatureAblation(m.module), m.tokenizer)
    ids = torch.tensor(m.continuation_ids(TARGET))
    inp = TextTokenInput(PROMPT, m.tokenizer)
    exact = float(llm._forward_func_by_tokens(None, inp, ids, use_cached_outputs=False)[0, 0])
    assert exact == pytest.approx(m.log_prob(PROMPT, TARGET), rel=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_shapley_value_sampling_equals_captum(kind):
    from captum.attr import ShapleyValueSampling

    m = lm(kind)
    torch.manual_seed(0)
    ref = captum_perturbation(m, ShapleyValueSampling)
    a = explain(m, PROMPT, "shapley_value_sampling", target=TARGET)  # seed 0, 25 samples
    np.testing.assert_allclose(a.values, ref.seq_attr.numpy(), **TOL)
    np.testing.assert_allclose(a.extras["token_attr"], ref.token_attr.numpy(), **TOL)

"""Infidelity, max-sensitivity, stability and agreement against closed forms and known models."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explainers.metrics import agreement, infidelity, max_sensitivity, stability
from models.errors import InputError, UnsupportedError
from tests.explainers import metric_methods as mt
from tests.explainers import metric_models as mm
from tests.explainers.metric_models import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")
RNG = np.random.default_rng(11)
INPUTS = [RNG.normal(1.0, 2.0, mm.N_FEATURES) for _ in range(3)]


@pytest.mark.parametrize("perturbation", ["gaussian", "removal"])
def test_closed_form_has_zero_infidelity_on_a_linear_model(perturbation):
    model, raw = mm.linear_tabular(), INPUTS[0]
    exact = mt._result(model, raw, 1, "closed_form", mm.closed_form(model, raw), {})
    score = infidelity(model, raw, exact, n_perturb=32, perturbation=perturbation, normalize=False)
    assert abs(score.value) < 1e-8 and abs(score.relative) < 1e-8
    assert score.settings["perturbation"] == perturbation and score.settings["output"] == "logit"


@pytest.mark.parametrize("maker", [mm.linear_tabular, mm.mlp_tabular])
@pytest.mark.parametrize("raw", INPUTS)
def test_correct_attribution_has_lower_infidelity_than_random(maker, raw):
    model = maker()
    target = int(np.argmax(model.predict(raw)))
    good = infidelity(model, raw, mt.TIG().explain(model, raw, target, n_steps=64), seed=1)
    bad = [infidelity(model, raw, mt.TRandom().explain(model, raw, target, seed=s), seed=1).relative
           for s in range(6)]
    assert good.relative < np.mean(bad)
    assert 0.0 <= good.relative <= 1.0 + 1e-9  # normalized: never worse than predicting nothing


def test_infidelity_matches_a_direct_captum_call():
    from captum.metrics import infidelity as captum_infidelity

    model, raw = mm.linear_tabular(), INPUTS[1]
    a = mt.TSaliency().explain(model, raw, 1)
    ours = infidelity(model, raw, a, n_perturb=16, noise=0.3, seed=5, perturbation="gaussian",
                      normalize=False)
    x = model.preprocess(raw)
    base = model.baseline(x, "mean")
    gen = torch.Generator().manual_seed(5)

    def perturb(inputs):  # the same Gaussian presence noise, drawn in input space
        eps = torch.randn(inputs.shape, generator=gen) * 0.3
        return eps * (x - base), inputs - eps * (x - base)

    attr = torch.as_tensor(a.values, dtype=torch.float32)[None] / (x - base)
    direct = captum_infidelity(model.forward, perturb, x, attr, n_perturb_samples=16, target=1)
    assert ours.value == pytest.approx(float(direct[0]), rel=1e-4)


def test_text_infidelity_uses_token_removal():
    model, raw = mm.TextToy(), "the movie was great and good but the plot was bad"
    ig = mt.TIG().explain(model, raw, 1)
    score = infidelity(model, raw, ig)
    assert score.settings["perturbation"] == "removal" and score.settings["unit"] == "tokens"
    assert score.value < 1e-6  # a bag of embeddings is additive over tokens: IG is exact
    with pytest.raises(InputError, match="gaussian"):
        infidelity(model, raw, ig, perturbation="gaussian")


def test_saliency_of_a_linear_model_has_zero_max_sensitivity():
    model, raw = mm.linear_tabular(), INPUTS[0]
    sal = max_sensitivity(model, raw, mt.TSaliency(), {}, n_samples=4)
    ig = max_sensitivity(model, raw, mt.TIG(), {}, n_samples=4)
    assert sal.value == 0.0  # the gradient of a linear model is constant
    assert ig.value > 0.0 and ig.settings["radius"] == 0.1 and ig.settings["n_samples"] == 4


def test_max_sensitivity_on_images_and_unsupported_text():
    model, images, labels = mm.digits_model()
    s = max_sensitivity(model, images[0], mt.TSaliency(), {}, radius=0.05, n_samples=3)
    assert s.value > 0 and s.settings["space"].startswith("pixel")
    with pytest.raises(UnsupportedError, match="text"):
        max_sensitivity(mm.TextToy(), "good movie", mt.TSaliency(), {})
    with pytest.raises(InputError, match="radius"):
        max_sensitivity(model, images[0], mt.TSaliency(), {}, radius=2.0)


@pytest.mark.parametrize("method", [mt.TSaliency(), mt.TIG()])
def test_deterministic_methods_have_stability_exactly_one(method):
    model, images, labels = mm.digits_model()
    st = stability(model, images[2], method, {}, seeds=(0, 1, 2))
    assert st.mean_pairwise_spearman == 1.0 and st.min_pairwise_spearman == 1.0
    assert not st.stochastic and np.all(st.std_map == 0.0) and st.mean_map.shape == (8, 8)


def test_stochastic_methods_are_less_than_perfectly_stable():
    model, images, labels = mm.digits_model()
    st = stability(model, images[2], mt.TSmoothGrad(), {"nt_samples": 4}, seeds=(0, 1, 2, 3))
    assert st.stochastic and 0.0 < st.mean_pairwise_spearman < 1.0
    assert st.min_pairwise_spearman <= st.mean_pairwise_spearman
    assert np.any(st.std_map > 0) and st.settings["params"]["nt_samples"] == 4
    json.dumps(st.to_dict(), allow_nan=False)
    with pytest.raises(InputError, match="2 distinct seeds"):
        stability(model, images[2], mt.TSmoothGrad(), {}, seeds=(1, 1))


def test_agreement_self_is_one_and_negation_is_minus_one():
    model, raw = mm.mlp_tabular(), INPUTS[2]
    ig = mt.TIG().explain(model, raw, 1)
    sal = mt.TSaliency().explain(model, raw, 1)
    ag = agreement({"ig": ig, "ig_again": ig, "minus_ig": -np.asarray(ig.values), "saliency": sal}, k=3)
    assert ag.names == ("ig", "ig_again", "minus_ig", "saliency")
    assert ag.spearman[0, 1] == 1.0 and ag.spearman[0, 2] == pytest.approx(-1.0)
    assert ag.topk[0, 1] == 1.0 and ag.topk[0, 2] == 1.0  # top-k by |attribution|
    np.testing.assert_allclose(ag.spearman, ag.spearman.T)
    assert np.all(np.diag(ag.spearman) == 1.0) and ag.k == 3
    json.dumps(ag.to_dict(), allow_nan=False)


def test_agreement_topk_closed_form_and_errors():
    a = np.array([5.0, 4.0, 3.0, 0.1, 0.2, 0.3])
    b = np.array([5.0, 0.0, 0.0, 4.0, 3.0, 0.1])
    ag = agreement({"a": a, "b": b}, k=3)
    assert ag.topk[0, 1] == pytest.approx(1 / 3)  # only unit 0 is in both top-3 sets
    with pytest.raises(InputError, match="different sizes"):
        agreement({"a": a, "c": np.ones(4)})
    with pytest.raises(InputError, match="k must be"):
        agreement({"a": a, "b": b}, k=7)

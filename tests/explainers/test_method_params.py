"""Every method's recorded parameters drive its numbers: explain() with non-default knobs equals
the direct Captum / SHAP call rebuilt from `a.params` alone (n_steps and the integration rule,
samples, windows, regions, rules), on the real mnist-cnn and breast-cancer-mlp."""
from __future__ import annotations

import copy
import functools
import random

import numpy as np
import pytest
import torch

from explainers import explain
from models import load_model


@functools.cache
def mnist():
    m = load_model("mnist-cnn", device="cpu")
    return m, m.samples(1, seed=3)[0][0]


@functools.cache
def tabular():
    m = load_model("breast-cancer-mlp", device="cpu")
    return m, m.samples(1, seed=3)[0][0]


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def image_map(attr: torch.Tensor, channels: str = "sum") -> np.ndarray:
    a = attr.detach().double()[0]
    return (a.mean(0) if channels == "mean" else a.sum(0)).numpy()


def base_of(m, x, a) -> torch.Tensor:
    return m.baseline(x, a.params["baselines"]).to(x)


def layer(m, a):
    return m.conv_layers()[a.params["layer"]]


# method -> (non-default knobs, reference(m, x, a) -> map): the reference reads a.params only
IMAGE_CASES = {
    "saliency": ({"abs": False}, lambda m, x, a: image_map(
        _ca().Saliency(m.forward).attribute(x, target=a.target, abs=a.params["abs"]))),
    "input_x_gradient": ({}, lambda m, x, a: image_map(
        _ca().InputXGradient(m.forward).attribute(x.clone(), target=a.target))),
    "integrated_gradients": (
        {"n_steps": 17, "integration_method": "riemann_trapezoid", "baselines": "blur"},
        lambda m, x, a: image_map(_ca().IntegratedGradients(m.forward).attribute(
            x, baselines=base_of(m, x, a), target=a.target, n_steps=a.params["n_steps"],
            method=a.params["integration_method"]))),
    "smoothgrad": ({"nt_samples": 6, "stdevs": 0.3, "nt_type": "smoothgrad_sq"},
                   lambda m, x, a: _seeded(a, lambda: image_map(
                       _ca().NoiseTunnel(_ca().Saliency(m.forward)).attribute(
                           x, nt_type=a.params["nt_type"], nt_samples=a.params["nt_samples"],
                           stdevs=a.extras["noise_std"], target=a.target,
                           nt_samples_batch_size=1)))),
    "deeplift": ({"baselines": "mean"}, lambda m, x, a: image_map(
        _ca().DeepLift(copy.deepcopy(m.module)).attribute(
            x, baselines=base_of(m, x, a), target=a.target))),
    "gradient_shap": ({"n_samples": 9, "stdevs": 0.05, "n_baselines": 6},
                      lambda m, x, a: _seeded(a, lambda: image_map(
                          _ca().GradientShap(m.forward).attribute(
                              x, baselines=m.background(a.params["n_baselines"], a.params["seed"]),
                              n_samples=a.params["n_samples"], stdevs=a.params["stdevs"],
                              target=a.target)))),
    "deeplift_shap": ({"n_baselines": 4}, lambda m, x, a: image_map(
        _ca().DeepLiftShap(copy.deepcopy(m.module)).attribute(
            x, baselines=m.background(a.params["n_baselines"], a.params["seed"]),
            target=a.target))),
    "guided_backprop": ({}, lambda m, x, a: image_map(
        _ca().GuidedBackprop(copy.deepcopy(m.module)).attribute(x, target=a.target))),
    "grad_cam": ({"relu_attributions": False}, lambda m, x, a: image_map(
        _ca().LayerAttribution.interpolate(_ca().LayerGradCam(m.forward, layer(m, a)).attribute(
            x, target=a.target, relu_attributions=a.params["relu_attributions"]),
            tuple(x.shape[-2:]), "bilinear"))),
    "guided_grad_cam": ({}, lambda m, x, a: image_map(
        _ca().GuidedGradCam(m.module, layer(m, a)).attribute(x, target=a.target))),
    "occlusion": ({"sliding_window_shapes": 6, "strides": 3}, lambda m, x, a: image_map(
        _ca().Occlusion(m.forward).attribute(
            x, sliding_window_shapes=(1, *(a.params["sliding_window_shapes"],) * 2),
            strides=(1, *(a.params["strides"],) * 2),
            baselines=base_of(m, x, a), target=a.target), "mean")),
    "feature_ablation": ({"feature_mask": "grid", "n_segments": 16}, lambda m, x, a: image_map(
        _ca().FeatureAblation(m.forward).attribute(
            x, baselines=base_of(m, x, a), target=a.target, feature_mask=_mask(a, x)), "mean")),
    "lime": ({"n_samples": 40, "feature_mask": "grid", "n_segments": 16},
             lambda m, x, a: _seeded(a, lambda: image_map(_ca().Lime(m.forward).attribute(
                 x, baselines=base_of(m, x, a), target=a.target, feature_mask=_mask(a, x),
                 n_samples=a.params["n_samples"]), "mean"))),
    "kernel_shap": ({"n_samples": 40, "feature_mask": "slic", "n_segments": 12},
                    lambda m, x, a: _seeded(a, lambda: image_map(_ca().KernelShap(
                        m.forward).attribute(x, baselines=base_of(m, x, a), target=a.target,
                                             feature_mask=_mask(a, x),
                                             n_samples=a.params["n_samples"]), "mean"))),
    "shapley_value_sampling": (
        {"n_samples": 3, "feature_mask": "grid", "n_segments": 9},
        lambda m, x, a: _seeded(a, lambda: image_map(_ca().ShapleyValueSampling(
            m.forward).attribute(x, baselines=base_of(m, x, a), target=a.target,
                                 feature_mask=_mask(a, x), n_samples=a.params["n_samples"]),
            "mean"))),
    "lrp": ({"rule": "epsilon", "epsilon": 0.01}, lambda m, x, a: image_map(_lrp(m, x, a))),
}


def _ca():
    import captum.attr as ca

    return ca


def _mask(a, x) -> torch.Tensor:
    return torch.as_tensor(a.extras["segments"])[None, None].expand_as(x)


def _seeded(a, fn):
    seed_all(a.params["seed"])
    return fn()


def _lrp(m, x, a):
    from captum.attr._utils.lrp_rules import EpsilonRule

    from explainers.methods.lrp import lrp_class

    module = copy.deepcopy(m.module)
    for mod in module.modules():
        if isinstance(mod, torch.nn.Conv2d | torch.nn.Linear):
            mod.rule = EpsilonRule(a.params["epsilon"])
    return lrp_class()(module).attribute(x, target=a.target)


@pytest.mark.parametrize("method", sorted(IMAGE_CASES))
def test_image_method_equals_the_direct_call_from_its_recorded_params(method):
    m, raw = mnist()
    knobs, reference = IMAGE_CASES[method]
    a = explain(m, raw, method, seed=7, **knobs)
    for k, v in knobs.items():  # the knobs asked for are the ones recorded
        assert a.params[k] == v, (k, a.params)
    x = m.preprocess(raw)
    ref = reference(m, x, a)
    # float32 forwards batched differently (ours by free memory, Captum's one at a time) differ
    # in the last bits: 1e-5 of the map's scale
    np.testing.assert_allclose(a.values, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max() + 1e-7)


def test_halving_n_steps_changes_integrated_gradients():
    """The knob is live: a different n_steps gives a different map (and is recorded)."""
    m, raw = mnist()
    a = explain(m, raw, "integrated_gradients", n_steps=8, integration_method="riemann_left")
    b = explain(m, raw, "integrated_gradients", n_steps=4, integration_method="riemann_left")
    assert (a.params["n_steps"], b.params["n_steps"]) == (8, 4)
    assert np.abs(a.values - b.values).max() > 1e-4


def test_tabular_kernel_shap_equals_shap_kernel_explainer():
    import shap

    m, raw = tabular()
    a = explain(m, raw, "kernel_shap", n_samples=120, n_background=8, seed=2)
    bg = m.background(a.params["n_background"], a.params["seed"]).numpy()

    def f(z):
        with torch.no_grad():
            return m.forward(torch.as_tensor(z, dtype=torch.float32))[:, a.target].numpy()

    seed_all(a.params["seed"])
    phi = shap.KernelExplainer(f, bg).shap_values(m.preprocess(raw).numpy(),
                                                  nsamples=a.params["n_samples"], silent=True,
                                                  l1_reg=False)
    np.testing.assert_allclose(a.values, np.asarray(phi).reshape(-1), rtol=1e-4, atol=1e-6)


def test_tabular_shap_gradient_equals_shap_gradient_explainer():
    import shap

    from explainers.methods.shap_methods import _TargetModule

    m, raw = tabular()
    a = explain(m, raw, "shap_gradient", n_samples=50, n_baselines=10, seed=4)
    bg = m.background(a.params["n_baselines"], a.params["seed"])
    e = shap.GradientExplainer(_TargetModule(copy.deepcopy(m.module), a.target), bg)
    phi = e.shap_values(m.preprocess(raw), nsamples=a.params["n_samples"], rseed=a.params["seed"])
    np.testing.assert_allclose(a.values, np.asarray(phi).reshape(-1), rtol=1e-4, atol=1e-6)


def test_tabular_integrated_gradients_against_the_mean_row():
    from captum.attr import IntegratedGradients

    m, raw = tabular()
    a = explain(m, raw, "integrated_gradients", n_steps=23, integration_method="riemann_middle")
    x = m.preprocess(raw)
    ref = IntegratedGradients(m.forward).attribute(
        x, baselines=m.baseline(x, a.params["baselines"]), target=a.target,
        n_steps=a.params["n_steps"], method=a.params["integration_method"])
    np.testing.assert_allclose(a.values, ref[0].detach().double().numpy(), rtol=1e-5, atol=1e-7)

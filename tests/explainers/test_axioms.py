"""Real properties: closed forms, completeness, efficiency, null models, equality with Captum."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers import explain
from tests.explainers.conftest import TEXT, WEIGHTS, Image, Null, NullConv, Tabular, image_raw

X = np.array([1.5, -2.0, 3.0, 0.5, -1.0, 2.5])
W = np.array(WEIGHTS)


def mean_bg(model: Tabular) -> np.ndarray:
    return model.data.mean(0).double().numpy()


# ----------------------------------------------------------------- closed forms (linear model)
@pytest.mark.parametrize("method", ["integrated_gradients", "deeplift", "occlusion",
                                    "feature_ablation"])
def test_linear_model_gives_weight_times_difference(linear, method):
    a = explain(linear, X, method, target=1, baselines="mean")
    np.testing.assert_allclose(a.values, W * (X - mean_bg(linear)), rtol=1e-5, atol=1e-5)


def test_input_x_gradient_on_linear_is_weight_times_input(linear):
    np.testing.assert_allclose(explain(linear, X, "input_x_gradient", target=1).values, W * X,
                               rtol=1e-6)


def test_saliency_on_linear_is_the_weight(linear):
    a = explain(linear, X, "saliency", target=1, abs=False)
    np.testing.assert_allclose(a.values, W, rtol=1e-6)


@pytest.mark.parametrize("method", ["kernel_shap",
                                    pytest.param("shap_partition", marks=pytest.mark.slow)])
def test_shap_on_linear_is_weight_times_difference_to_background_mean(linear, method):
    bg = linear.background(20, 0).double().numpy()
    a = explain(linear, X, method, target=1, n_background=20)
    np.testing.assert_allclose(a.values, W * (X - bg.mean(0)), atol=1e-4)


# ----------------------------------------------------------------- completeness / efficiency
@pytest.mark.parametrize("method,tol", [("integrated_gradients", 1e-2), ("deeplift", 1e-4)])
def test_completeness_on_relu_mlp(mlp, method, tol):
    a = explain(mlp, X, method, baselines="zero")
    x = torch.tensor(X, dtype=torch.float32)[None]
    f = mlp.forward(x)[0, a.target] - mlp.forward(torch.zeros_like(x))[0, a.target]
    gap = abs(a.values.sum() - float(f))
    assert a.delta is not None and a.delta < tol
    assert gap == pytest.approx(a.delta, abs=1e-5)


def test_integrated_gradients_delta_shrinks_with_steps(cnn):
    coarse = explain(cnn, image_raw(), "integrated_gradients", n_steps=4,
                     integration_method="riemann_left")
    fine = explain(cnn, image_raw(), "integrated_gradients", n_steps=200,
                   integration_method="riemann_left")
    assert fine.delta < coarse.delta


def test_gradient_shap_completeness_on_linear_with_one_baseline(linear):
    a = explain(linear, X, "gradient_shap", target=1, n_baselines=1, n_samples=10)
    assert a.base_value + a.values.sum() == pytest.approx(a.output, abs=1e-4)
    assert a.delta < 1e-4


@pytest.mark.parametrize("method", ["gradient_shap", "deeplift_shap", "shap_gradient"])
def test_background_methods_report_their_completeness_gap(mlp, method):
    a = explain(mlp, X, method, n_baselines=10)
    assert a.delta == pytest.approx(abs(a.values.sum() - (a.output - a.base_value)), abs=1e-5)
    if method == "deeplift_shap":  # exact on ReLU nets: averaged DeepLift is complete
        assert a.delta < 1e-4


@pytest.mark.parametrize("fixture,raw", [("mlp", X), ("bag", TEXT)])
def test_kernel_shap_efficiency(request, fixture, raw):
    a = explain(request.getfixturevalue(fixture), raw, "kernel_shap", n_samples=300)
    assert a.base_value + a.values.sum() == pytest.approx(a.output, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("fixture,raw", [("mlp", X), ("bag", TEXT), ("cnn", image_raw())])
def test_shap_partition_efficiency(request, fixture, raw):
    a = explain(request.getfixturevalue(fixture), raw, "shap_partition", max_evals=200)
    assert a.base_value + a.values.sum() == pytest.approx(a.output, abs=1e-4)


def test_kernel_shap_efficiency_on_image_superpixels(cnn):
    a = explain(cnn, image_raw(), "kernel_shap", n_samples=200, n_segments=16, feature_mask="grid")
    assert len(a.extras["region_values"]) == 16
    assert a.base_value + a.extras["region_values"].sum() == pytest.approx(a.output, abs=1e-3)
    seg = a.extras["segments"]
    np.testing.assert_allclose(a.values, a.extras["region_values"][seg])  # painted per region


# ----------------------------------------------------------------- a model that ignores its input
@pytest.mark.parametrize("method", ["saliency", "input_x_gradient", "integrated_gradients",
                                    "deeplift", "gradient_shap", "occlusion", "feature_ablation",
                                    "kernel_shap", "shap_gradient", "smoothgrad"])
def test_null_model_gets_zero_attribution(method):
    model = Tabular(Null(), "toy-null")
    a = explain(model, X, method, target=1)
    np.testing.assert_allclose(a.values, 0.0, atol=1e-7)


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion", "lime", "grad_cam"])
def test_null_image_model_gets_zero_attribution(method):
    model = Image(NullConv(), "toy-null-image")
    np.testing.assert_allclose(explain(model, image_raw(), method).values, 0.0, atol=1e-7)


# ----------------------------------------------------------------- the same as calling Captum
def _x(cnn) -> torch.Tensor:
    return cnn.preprocess(image_raw())


def test_integrated_gradients_equals_captum(cnn):
    from captum.attr import IntegratedGradients

    x = _x(cnn)
    direct = IntegratedGradients(cnn.forward).attribute(
        x, baselines=cnn.baseline(x, "black"), target=2, n_steps=30)
    ours = explain(cnn, image_raw(), "integrated_gradients", target=2, n_steps=30,
                   baselines="black")
    np.testing.assert_allclose(ours.values, direct.sum(1)[0].detach().numpy(), atol=1e-6)


def test_cached_gauss_legendre_nodes_equal_numpy():
    from captum.attr._utils.approximation_methods import approximation_parameters

    steps, alphas = approximation_parameters("gausslegendre")
    nodes, weights = np.polynomial.legendre.leggauss(37)
    np.testing.assert_allclose(steps(37), 0.5 * weights, rtol=0, atol=0)
    np.testing.assert_allclose(alphas(37), 0.5 * (nodes + 1), rtol=0, atol=0)


def test_layer_integrated_gradients_equals_captum_on_text(bag):
    from captum.attr import LayerIntegratedGradients

    ids = bag.preprocess(TEXT)
    base = torch.where(ids >= 2, torch.zeros_like(ids), ids)  # [PAD] except [CLS]/[SEP]
    base[0, 0], base[0, -1] = ids[0, 0], ids[0, -1]
    direct = LayerIntegratedGradients(bag.forward, bag.embedding_layer).attribute(
        ids, baselines=base, target=1, n_steps=20)
    ours = explain(bag, TEXT, "integrated_gradients", target=1, n_steps=20)
    np.testing.assert_allclose(ours.values, direct.sum(-1)[0].detach().numpy(), atol=1e-6)


def test_saliency_equals_captum(cnn):
    from captum.attr import Saliency

    direct = Saliency(cnn.forward).attribute(_x(cnn), target=0, abs=True)
    ours = explain(cnn, image_raw(), "saliency", target=0)
    np.testing.assert_allclose(ours.values, direct.sum(1)[0].numpy(), atol=1e-6)


def test_occlusion_equals_captum_defaults(cnn):
    from captum.attr import Occlusion

    x = _x(cnn)
    direct = Occlusion(cnn.forward).attribute(
        x, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2), baselines=cnn.baseline(x, "blur"),
        target=1)
    ours = explain(cnn, image_raw(), "occlusion", target=1, sliding_window_shapes=4, strides=2,
                   baselines="blur")
    np.testing.assert_allclose(ours.values, direct.mean(1)[0].numpy(), atol=1e-5)
    assert ours.extras["batch_size"] > 1  # batched, unlike Captum's default of one at a time


def test_grad_cam_equals_captum(cnn):
    from captum.attr import LayerAttribution, LayerGradCam

    x = _x(cnn)
    cam = LayerGradCam(cnn.forward, cnn.module.conv1).attribute(x, target=2,
                                                                relu_attributions=True)
    direct = LayerAttribution.interpolate(cam, (16, 16), "bilinear")[0, 0].detach().numpy()
    ours = explain(cnn, image_raw(), "grad_cam", target=2, layer="conv1")
    np.testing.assert_allclose(ours.values, direct, atol=1e-6)
    assert ours.params["layer"] == "conv1"


@pytest.mark.parametrize("method", ["integrated_gradients", "deeplift"])
def test_delta_equals_captums_convergence_delta(cnn, method):
    from captum.attr import DeepLift, IntegratedGradients

    x = _x(cnn)
    b = cnn.baseline(x, "black")
    if method == "deeplift":
        _, delta = DeepLift(cnn.module).attribute(x, baselines=b, target=1,
                                                  return_convergence_delta=True)
    else:
        _, delta = IntegratedGradients(cnn.forward).attribute(
            x, baselines=b, target=1, n_steps=10, return_convergence_delta=True)
    ours = explain(cnn, image_raw(), method, target=1, baselines="black",
                   **({"n_steps": 10} if method != "deeplift" else {}))
    assert ours.delta == pytest.approx(abs(float(delta)), abs=1e-5)

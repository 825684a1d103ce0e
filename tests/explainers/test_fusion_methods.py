"""Fusion models run on the same method classes as every other modality (no second registry)."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from explainers import REGISTRY, explain, list_methods
from explainers.methods._common import Method
from models import UnsupportedError, load_model
from tests.explainers.test_support_matrix import MATRIX

# gradient methods over (pixels, token embeddings); perturbation methods over (regions, tokens)
FUSION_METHODS = {k for k, (models, _) in MATRIX.items() if "F" in models}


@functools.cache
def fusion():
    return load_model("digit-text-fusion", device="cpu")


def raw() -> dict:
    return fusion().samples(1, seed=0)[0][0]


def test_every_registered_method_is_one_method_class():
    assert all(isinstance(m, Method) for m in REGISTRY.values())


def test_list_methods_for_a_fusion_model():
    assert set(list_methods(fusion())) == FUSION_METHODS


def test_fusion_params_are_the_methods_own_and_every_widget_value_is_accepted():
    """The Trust page sends each method's params_for(model) defaults: all must be accepted."""
    m = fusion()
    for key in list_methods(m):
        spec = REGISTRY[key].params_for(m)
        params = {p.name: p.default for p in spec}
        params.update({k: 10 for k in ("n_samples", "nt_samples") if k in params})
        a = explain(m, raw(), key, seed=0, **params)
        assert a.kind == "fusion" and set(a.values) == {"image", "text"}
        assert "merge_words" not in {p.name for p in spec}


@pytest.mark.parametrize("method", ["integrated_gradients", "input_x_gradient", "saliency"])
def test_fusion_gradient_methods_equal_captum_on_pixels_and_embeddings(method):
    import captum.attr as ca

    m = fusion()
    image, ids = m.preprocess(raw())
    embeds = m.embed(ids)
    a = explain(m, raw(), method, n_steps=24) if method == "integrated_gradients" \
        else explain(m, raw(), method)
    algo = {"integrated_gradients": ca.IntegratedGradients, "input_x_gradient": ca.InputXGradient,
            "saliency": ca.Saliency}[method](m.forward_embeddings)
    kw = {"n_steps": 24, "baselines": (torch.zeros_like(image),
                                       m.embed(torch.full_like(ids, m.pad_token_id)))} \
        if method == "integrated_gradients" else {}
    ref = algo.attribute((image, embeds), target=a.target, **kw)
    np.testing.assert_allclose(a.values["image"], ref[0][0].sum(0).detach().double().numpy(), atol=1e-5)
    np.testing.assert_allclose(a.values["text"], ref[1][0].sum(-1).detach().double().numpy(), atol=1e-5)


def test_fusion_feature_ablation_equals_captum_over_regions_and_tokens():
    from captum.attr import FeatureAblation

    m = fusion()
    a = explain(m, raw(), "feature_ablation", feature_mask="grid", n_segments=16)
    image, ids = m.preprocess(raw())
    regions = torch.as_tensor(a.extras["segments"])[None, None]
    n = int(regions.max()) + 1
    tokens = torch.arange(ids.shape[1])[None] + n
    ref = FeatureAblation(m.forward).attribute(
        (image, ids), baselines=(torch.zeros_like(image), torch.full_like(ids, m.pad_token_id)),
        target=a.target, feature_mask=(regions.expand_as(image), tokens))
    np.testing.assert_allclose(a.values["image"], ref[0][0].mean(0).double().numpy(), atol=1e-6)
    np.testing.assert_allclose(a.values["text"], ref[1][0].double().numpy(), atol=1e-6)


def test_image_only_methods_refuse_fusion_models_naming_the_alternatives():
    with pytest.raises(UnsupportedError, match="grad_cam.*integrated_gradients"):
        explain(fusion(), raw(), "grad_cam")
    with pytest.raises(UnsupportedError):
        explain(fusion(), raw(), "attention")

"""Models side by side on one input: predictions, maps and agreement equal the direct calls."""
from __future__ import annotations

import math

import numpy as np
import pytest

from explainers import explain
from explainers.compare_models import flat, rank_agreement
from explainers.side_by_side import side_by_side
from models import load_model
from models.compress import prune_sweep
from models.errors import InputError


@pytest.fixture(scope="module")
def mnist():
    return load_model("mnist-cnn")


@pytest.fixture(scope="module")
def pruned(mnist):
    ((_, model),) = list(prune_sweep(mnist, [0.7], "unstructured", "global"))
    return model


def test_a_model_beside_itself_agrees_fully(mnist):
    raw, _ = mnist.samples(1, 0)[0]
    s = side_by_side([mnist, mnist], raw, "saliency")
    assert s.same_class and np.all(s.spearman == 1) and np.all(s.topk == 1)


def test_pruned_copy_matches_the_direct_calls(mnist, pruned):
    raw, _ = mnist.samples(3, 0)[2]
    s = side_by_side([mnist, pruned], raw, "integrated_gradients")
    a = explain(mnist, raw, "integrated_gradients")
    b = explain(pruned, raw, "integrated_gradients")
    rho, top = rank_agreement(flat(a), flat(b), s.k)
    assert s.spearman[0, 1] == pytest.approx(rho) and s.spearman[1, 0] == pytest.approx(rho)
    assert s.topk[0, 1] == pytest.approx(top) and rho < 1
    np.testing.assert_allclose(s.runs[1].attribution.values, b.values, rtol=1e-5, atol=1e-7)
    same = mnist.predict(raw).argmax() == pruned.predict(raw).argmax()
    assert s.same_class == same and s.labels[0] == mnist.info.class_names[a.target]
    assert s.to_dict()["spearman"][0][1] == pytest.approx(rho)


def test_each_model_explains_its_own_prediction_unless_a_target_is_given(mnist, pruned):
    raw, _ = mnist.samples(1, 0)[0]
    s = side_by_side([mnist, pruned], raw, "saliency", target=3)
    assert [r.attribution.target for r in s.runs] == [3, 3]
    s = side_by_side([mnist, pruned], raw, "saliency")
    assert [r.attribution.target for r in s.runs] == [r.pred for r in s.runs]


def test_maps_of_different_sizes_are_not_compared_and_say_why(mnist):
    net = load_model("imagenet-efficientnet")
    raw, _ = mnist.samples(1, 0)[0]
    s = side_by_side([mnist, net], raw, "saliency")
    assert math.isnan(s.spearman[0, 1]) and s.spearman[0, 0] == 1
    assert "attributions differ in size (784 vs 50176)" in s.notes[0]


def test_fusion_maps_compare_and_bad_model_sets_raise(mnist):
    fusion = load_model("digit-text-fusion")
    raw, _ = fusion.samples(1, 0)[0]
    s = side_by_side([fusion, fusion], raw, "saliency")
    assert s.spearman[0, 1] == 1
    with pytest.raises(InputError, match="share one modality"):
        side_by_side([mnist, fusion], raw, "saliency")
    with pytest.raises(InputError, match="two or more models"):
        side_by_side([mnist], raw, "saliency")

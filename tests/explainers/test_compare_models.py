"""Side-by-side measurement of original vs compressed models, and explanation drift."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from explainers.compare_models import (
    FALLBACKS,
    compare,
    default_k,
    method_drift,
    rank_agreement,
    sweep,
)
from models.compress import prune_adapter, quantize_adapter
from models.errors import CancelledError
from tests.models.test_compress_stubs import bag_model, digit_model, same_state, state_copy

METHODS = ["saliency", "integrated_gradients"]


@pytest.fixture(scope="module")
def digits():
    return digit_model()


def test_rank_agreement_closed_forms():
    a = np.arange(1.0, 21.0)
    assert rank_agreement(a, a.copy()) == (1.0, 1.0)
    rho, top = rank_agreement(a, a[::-1].copy(), k=5)
    assert rho == pytest.approx(-1.0) and top == 0.0
    b = a.copy()
    b[[19, 0]] = b[[0, 19]]  # the largest becomes the smallest: 4 of the top 5 stay
    assert rank_agreement(a, b, k=5)[1] == pytest.approx(4 / 5)
    assert rank_agreement(-a, a)[0] == 1.0  # importance is |value|
    z = np.zeros(50)
    z[:4], b = [4.0, 3.0, 2.0, 1.0], np.zeros(50)
    b[:4] = [1.0, 2.0, 3.0, 4.0]
    assert rank_agreement(z, b)[0] == pytest.approx(-1.0)  # shared zeros do not count as agreement
    assert default_k(784) == 78 and default_k(12) == 5 and default_k(6) == 3 and default_k(3) == 1


def test_amount_zero_has_no_drift_and_identical_accuracy(digits):
    before = state_copy(digits.module)
    r = compare(digits, prune_adapter(digits, 0.0), METHODS, n_accuracy=120, n_explain=3,
                latency_runs=3)
    assert r.accuracy == r.accuracy_original and r.agreement == 1.0
    for m in METHODS:
        d = r.drift[m]
        assert (d.used_method, d.spearman, d.topk_overlap, d.n) == (m, 1.0, 1.0, 3)
        assert d.notice == ""
    assert r.size["params"] == r.size_original["params"] and r.size["sparsity"] == 0
    assert r.size["bytes"] == pytest.approx(r.size_original["bytes"], rel=0.01)  # zip layout
    assert same_state(digits.module, before)


def test_heavy_pruning_moves_explanations_and_shrinks_the_sparse_size(digits):
    r = compare(digits, prune_adapter(digits, 0.9), ["saliency"], n_accuracy=120, n_explain=3,
                latency_runs=3)
    assert r.drift["saliency"].spearman < 0.99
    assert 0 <= r.drift["saliency"].topk_overlap <= 1
    assert r.size["sparsity"] > 0.85
    assert r.size["sparse_bytes"] < 0.5 * r.size["bytes"]
    assert r.size["zlib_bytes"] < r.size_original["zlib_bytes"]
    assert r.latency_ratio > 0 and math.isfinite(r.latency_ratio)
    assert r.details["amount"] == 0.9


def test_gradient_methods_on_int8_fall_back_with_a_notice(digits):
    q = quantize_adapter(digits, "int8")
    r = compare(digits, q, METHODS, n_accuracy=120, n_explain=2, latency_runs=3)
    for m in METHODS:
        d = r.drift[m]
        assert d.used_method in FALLBACKS and d.used_method != m
        assert "int8" in d.notice and d.used_method in d.notice
        assert -1 <= d.spearman <= 1
    assert len(r.notices) == 2
    assert r.size["bytes"] < r.size_original["bytes"]
    assert r.agreement >= 0.95


def test_perturbation_methods_run_on_int8_without_fallback():
    bag = bag_model()
    q = quantize_adapter(bag, "int8")
    inputs = [(r, 1) for r, _ in bag.samples(2)]
    d = method_drift(bag, q, "feature_ablation", inputs)
    assert d.used_method == "feature_ablation" and d.notice == "" and d.n == 2
    assert d.spearman > 0.5


def test_to_dict_is_json_ready(digits):
    r = compare(digits, prune_adapter(digits, 0.5), ["saliency"], n_accuracy=50, n_explain=1,
                latency_runs=2)
    back = json.loads(json.dumps(r.to_dict()))
    assert back["compressed"] == "tiny-digits (pruned 50% L1)"
    assert back["drift"]["saliency"]["n"] == 1


def test_sweep_compares_each_amount_and_reports_progress(digits):
    seen = []
    rows = sweep(digits, [0.0, 0.8], ["saliency"], n_accuracy=60, n_explain=2, latency_runs=2,
                 progress=lambda d, t: seen.append((d, t)))
    assert [m.info.name for m, _ in rows] == ["tiny-digits (pruned 0% L1)",
                                             "tiny-digits (pruned 80% L1)"]
    assert rows[0][1].drift["saliency"].spearman == 1.0
    assert rows[1][1].size["sparsity"] > rows[0][1].size["sparsity"]
    assert seen[-1][0] == seen[-1][1] == 8 and len({t for _, t in seen}) == 1


def test_progress_returning_false_cancels(digits):
    with pytest.raises(CancelledError):
        compare(digits, prune_adapter(digits, 0.5), ["saliency"], n_accuracy=20,
                n_explain=2, latency_runs=1, progress=lambda d, t: False)


def test_constant_maps_give_an_undefined_rank_with_a_notice():
    bag = bag_model()  # mean pooling: every token's embedding gets the same gradient
    inputs = [(r, 1) for r, _ in bag.samples(2)]
    d = method_drift(bag, prune_adapter(bag, 0.5), "saliency", inputs)
    assert math.isnan(d.spearman) and "undefined on 2 of 2 inputs" in d.notice


def test_unknown_method_is_an_error_and_a_method_that_does_not_apply_is_skipped(digits):
    from models.errors import UnknownNameError

    pruned = prune_adapter(digits, 0.5)
    with pytest.raises(UnknownNameError, match="no_such_method"):
        compare(digits, pruned, ["no_such_method"], n_accuracy=10, latency_runs=1)
    bag = bag_model()
    d = method_drift(bag, prune_adapter(bag, 0.5), "grad_cam", [("good film", 1)])
    assert math.isnan(d.spearman) and d.notice.startswith("skipped: grad_cam works on image")


def test_int8_model_is_not_offered_gradient_methods_and_explain_says_why():
    """A kept int8 model is explained like any other: gradient methods refuse with one line."""
    from explainers import REGISTRY, explain, list_methods
    from models import UnsupportedError, load_model
    from models.compress import quantize_adapter

    GRADIENT_METHODS = {k for k, m in REGISTRY.items() if m.gradients}  # noqa: N806
    original = load_model("breast-cancer-mlp")
    q = quantize_adapter(original, "int8")
    offered = set(list_methods(q))
    assert offered and not offered & GRADIENT_METHODS
    assert set(list_methods(original)) & GRADIENT_METHODS  # the float model keeps them
    raw = original.samples(1)[0][0]
    with pytest.raises(UnsupportedError, match="int8-quantized layers have none"):
        explain(q, raw, "integrated_gradients")

"""Pruning and quantization: requested sparsity, untouched originals, agreeing predictions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.compress import (
    accuracy,
    channel_sparsity,
    is_int8,
    predictions,
    prunable_layers,
    prune_adapter,
    prune_module,
    prune_sweep,
    quantize_adapter,
    sparsity,
)
from models.errors import InputError
from tests.models.test_compress_stubs import (
    bag_model,
    digit_model,
    same_state,
    state_copy,
)

AMOUNTS = (0.0, 0.3, 0.5, 0.9)


@pytest.fixture(scope="module")
def digits():
    return digit_model()


@pytest.mark.parametrize("amount", AMOUNTS)
def test_global_unstructured_reaches_the_requested_sparsity(digits, amount):
    pruned = prune_module(digits.module, amount, "unstructured", "global")
    total = sum(m.weight.numel() for _, m in prunable_layers(pruned))
    assert sparsity(pruned)["overall"] == pytest.approx(round(amount * total) / total)


@pytest.mark.parametrize("amount", AMOUNTS)
def test_per_layer_unstructured_prunes_each_layer_to_the_amount(digits, amount):
    pruned = prune_module(digits.module, amount, "unstructured", "layer")
    for name, m in prunable_layers(pruned):
        n = m.weight.numel()
        assert sparsity(pruned)[name] == pytest.approx(round(amount * n) / n)


def test_global_pruning_is_uneven_across_layers(digits):
    s = sparsity(prune_module(digits.module, 0.5, "unstructured", "global"))
    layers = [v for k, v in s.items() if k != "overall"]
    assert max(layers) - min(layers) > 0.05  # one magnitude threshold, not one per layer


@pytest.mark.parametrize("amount", (0.25, 0.5, 0.75))
def test_structured_zeroes_whole_channels_and_spares_the_classifier(digits, amount):
    pruned = prune_module(digits.module, amount, "structured", "layer")
    for name, m in prunable_layers(pruned, "structured"):
        rows = m.weight.shape[0]
        assert channel_sparsity(pruned)[name] == pytest.approx(round(amount * rows) / rows)
        w = m.weight.flatten(1)
        zero_rows = (w == 0).all(1)
        assert int((w == 0).sum()) == int(zero_rows.sum()) * w.shape[1]  # only whole rows
    assert "fc2" not in dict(prunable_layers(pruned, "structured"))
    assert torch.equal(pruned.fc2.weight, digits.module.fc2.weight)


@pytest.mark.parametrize("kind,scope", [("unstructured", "global"), ("unstructured", "layer"),
                                        ("structured", "layer")])
def test_pruning_leaves_the_shared_module_unchanged(digits, kind, scope):
    before = state_copy(digits.module)
    pruned = prune_adapter(digits, 0.7, kind, scope)
    assert same_state(digits.module, before)
    assert pruned.module is not digits.module
    assert not any(n.endswith("_orig") for n, _ in pruned.module.named_parameters())
    assert not any(True for m in pruned.module.modules() for _ in m._forward_pre_hooks.values())


def test_pruned_adapter_is_a_new_model_of_the_same_kind(digits):
    pruned = prune_adapter(digits, 0.5)
    assert type(pruned) is type(digits)
    assert pruned.info.name == "tiny-digits (pruned 50% L1)"
    assert pruned.lock is not digits.lock
    assert pruned.conv_layers()["conv2"] is pruned.module.conv2
    assert "heldout_accuracy" not in pruned.info.card
    assert pruned.info.card["compression"]["amount"] == 0.5
    assert digits.info.name == "tiny-digits"


def test_amount_zero_changes_no_prediction(digits):
    samples = digits.samples(100)
    raws = [r for r, _ in samples]
    pruned = prune_adapter(digits, 0.0)
    assert np.array_equal(predictions(pruned, raws), predictions(digits, raws))
    assert accuracy(pruned, samples) == accuracy(digits, samples)


def test_sweep_accuracy_falls_at_extreme_sparsity(digits):
    samples = digits.samples(300)
    accs = {a: accuracy(m, samples) for a, m in prune_sweep(digits, (0.0, 0.99))}
    assert accs[0.0] > 0.85
    assert accs[0.99] < accs[0.0] - 0.3


@pytest.mark.parametrize("bad", (-0.1, 1.5, "half", None))
def test_bad_amount_is_a_clear_error(digits, bad):
    with pytest.raises(InputError, match="amount"):
        prune_adapter(digits, bad)


def test_bad_kind_and_global_structured_are_clear_errors(digits):
    with pytest.raises(InputError, match="unstructured, structured"):
        prune_module(digits.module, 0.5, "random")
    with pytest.raises(InputError, match="per layer"):
        prune_module(digits.module, 0.5, "structured", "global")


def test_int8_predictions_agree_with_the_original_on_95_percent(digits):
    before = state_copy(digits.module)
    q = quantize_adapter(digits, "int8")
    raws = [r for r, _ in digits.samples(300)]
    agree = float((predictions(q, raws) == predictions(digits, raws)).mean())
    assert agree >= 0.95
    assert is_int8(q.module) and not is_int8(digits.module)
    assert q.device.type == "cpu"
    assert same_state(digits.module, before)


def test_int8_text_model_keeps_its_embedding_layer_and_agrees():
    bag = bag_model()
    q = quantize_adapter(bag, "int8")
    assert q.embedding_layer is q.module.embedding
    assert q.embedding_layer is not bag.embedding_layer
    raws = [r for r, _ in bag.samples(200)]
    assert float((predictions(q, raws) == predictions(bag, raws)).mean()) >= 0.95


@pytest.mark.parametrize("mode", ("bfloat16", "float16"))
def test_low_precision_runs_or_says_why(digits, mode):
    from models.errors import UnsupportedError

    before = state_copy(digits.module)
    try:
        low = quantize_adapter(digits, mode)
    except UnsupportedError as exc:  # a device without these kernels: a clear reason
        assert mode in str(exc)
        return
    assert next(low.module.parameters()).dtype == getattr(torch, mode)
    raws = [r for r, _ in digits.samples(200)]
    assert float((predictions(low, raws) == predictions(digits, raws)).mean()) >= 0.95
    assert low.predict(raws[0]).dtype == np.float32
    assert low.conv_layers()["conv1"] is low.module.inner.conv1
    assert same_state(digits.module, before)


def test_unknown_quantization_mode_is_a_clear_error(digits):
    with pytest.raises(InputError, match="int8, float16, bfloat16"):
        quantize_adapter(digits, "int4")


def test_latency_is_paired_per_round_and_sizes_shrink_with_sparsity(digits):
    from models.compress.measure import latencies, paired_ratio, size_report

    assert paired_ratio([1.0, 2.0, 4.0], [2.0, 4.0, 8.0]) == 2.0  # load drift cancels
    raws = [r for r, _ in digits.samples(8)]
    times = latencies([digits, prune_adapter(digits, 0.5)], raws, batch_size=8, runs=3)
    assert [len(t) for t in times] == [3, 3] and min(map(min, times)) > 0
    dense, sparse = size_report(digits.module), size_report(prune_module(digits.module, 0.9))
    assert sparse["sparse_bytes"] < 0.4 * dense["sparse_bytes"]
    assert sparse["zlib_bytes"] < dense["zlib_bytes"] and sparse["params"] == dense["params"]

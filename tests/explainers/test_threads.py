"""Shared-model safety: threads agree with serial runs; hooks, params and modes survive (also
errors); out-of-memory halves the batch and retries."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from torch import nn

from explainers import explain
from explainers.base import HOOK_DICTS
from explainers.batching import pick_batch, with_retry
from models.errors import CancelledError
from tests.explainers.conftest import TEXT, Tabular, image_raw

RUNS = [("integrated_gradients", {"n_steps": 8}), ("lime", {"n_samples": 20}),
        ("deeplift", {}), ("grad_cam", {}), ("kernel_shap", {"n_samples": 20})]


def test_eight_threads_match_serial_runs(cnn):
    jobs = [(m, p, seed) for seed in (0, 1) for m, p in RUNS][:8]
    serial = [explain(cnn, image_raw(s), m, seed=s, **p).values for m, p, s in jobs]
    with ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(lambda j: explain(cnn, image_raw(j[2]), j[0], seed=j[2],
                                                   **j[1]).values, jobs))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def snapshot(model) -> tuple:
    """Every hook table of every submodule, the parameters, grad flags and train/eval modes."""
    mods = list(model.module.named_modules())
    hooks = {(n, t): tuple(getattr(m, t)) for n, m in mods for t in HOOK_DICTS if hasattr(m, t)}
    params = {n: p.detach().clone() for n, p in model.module.state_dict().items()}
    flags = [(n, p.requires_grad) for n, p in model.module.named_parameters()]
    return hooks, params, flags, [m.training for _, m in mods]


def same(a: tuple, b: tuple) -> bool:
    return (a[0] == b[0] and a[2] == b[2] and a[3] == b[3]
            and all(torch.equal(a[1][k], b[1][k]) for k in a[1]))


HOOKED = ["deeplift", "deeplift_shap", "guided_backprop", "guided_grad_cam", "grad_cam",
          "shap_gradient", "integrated_gradients", "occlusion"]


@pytest.mark.parametrize("method", HOOKED)
def test_model_unchanged_after_success_and_after_an_error(cnn, method):
    before = snapshot(cnn)
    explain(cnn, image_raw(), method, n_baselines=3) if "shap" in method else \
        explain(cnn, image_raw(), method)
    assert same(before, snapshot(cnn))

    def boom(done, total):
        raise CancelledError("stop in the middle")

    with pytest.raises(CancelledError):
        extra = {"n_baselines": 3} if "shap" in method else {}
        explain(cnn, image_raw(), method, progress=boom, **extra)
    assert same(before, snapshot(cnn))


@pytest.mark.parametrize("method,params", [("integrated_gradients", {}), ("deeplift", {}),
                                           ("attention_rollout", {"variant": "gradient"})])
def test_transformer_unchanged_after_an_error(bert, method, params):
    explain(bert, TEXT, "attention")  # transformers installs its own recorders on first use
    before = snapshot(bert)

    def boom(done, total):
        raise RuntimeError("fails inside the method")

    with pytest.raises(RuntimeError, match="inside"):
        explain(bert, TEXT, method, progress=boom, **params)
    explain(bert, TEXT, method, **params)
    assert same(before, snapshot(bert))


class OomNet(nn.Module):
    """A linear model that raises a CUDA-style out-of-memory error on batches above 8."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 8:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.lin(x)


def test_out_of_memory_halves_the_batch_and_gives_the_same_numbers():
    torch.manual_seed(0)
    model = Tabular(OomNet(), "toy-oom")
    plain = Tabular(model.module.lin, "toy-plain")
    x = np.arange(6.0)
    a = explain(model, x, "integrated_gradients", n_steps=50, target=1)
    b = explain(plain, x, "integrated_gradients", n_steps=50, target=1)
    assert a.extras["batch_size"] <= 8 < b.extras["batch_size"]
    np.testing.assert_allclose(a.values, b.values, atol=1e-6)
    occl = explain(model, x, "feature_ablation", target=1)
    np.testing.assert_allclose(occl.values, explain(plain, x, "feature_ablation", target=1).values)


def test_with_retry_reraises_other_errors_and_stops_at_one():
    calls = []

    def fn(batch):
        calls.append(batch)
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        with_retry(fn, 16)
    assert calls == [16, 8, 4, 2, 1]
    with pytest.raises(ValueError):
        with_retry(lambda b: (_ for _ in ()).throw(ValueError("not memory")), 16)


def test_batch_follows_free_memory(cnn, monkeypatch):
    x = (cnn.preprocess(image_raw()),)
    monkeypatch.setattr("explainers.batching.available_bytes", lambda d: 10**12)
    assert pick_batch(cnn, x, 200) == 200
    monkeypatch.setattr("explainers.batching.available_bytes", lambda d: 10**5)
    assert 1 <= pick_batch(cnn, x, 200) < 200

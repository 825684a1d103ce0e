"""Several devices, with the CPU standing in for each: split + gather equals one device exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, IntegratedGradients

from explainers import devices as dv
from explainers import explain
from explainers.dataset import engines
from models.errors import InputError
from tests.explainers.conftest import TEXT, WEIGHTS, image_raw, linear_tabular

X = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0])


def test_ig_split_over_three_stand_ins_is_the_closed_form_and_the_direct_captum_call():
    model = linear_tabular()
    single = explain(model, X, "integrated_gradients", target=1, baselines="zero", n_steps=40)
    with dv.use_devices(["cpu", "cpu", "cpu"]):
        split = explain(model, X, "integrated_gradients", target=1, baselines="zero", n_steps=40)
    # a linear model: IG_i = (x_i - 0) * w_i exactly
    np.testing.assert_allclose(split.values, X * np.asarray(WEIGHTS), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(split.values, single.values)
    x = model.preprocess(X)
    direct = IntegratedGradients(model.forward).attribute(
        x, baselines=torch.zeros_like(x), target=1, n_steps=40,
        internal_batch_size=split.extras["batch_size"])
    np.testing.assert_array_equal(split.values, direct[0].numpy())
    rows = split.extras["device_rows"]
    assert split.extras["devices"] == ["cpu", "cpu", "cpu"] and "devices" not in single.extras
    assert len(rows) == 3 and min(rows) > 0  # each stand-in got its share of the 40 steps
    assert max(rows) - min(rows) <= 2 + 1  # even shares (+ the one-row output/delta forwards)


def test_perturbation_batches_split_over_stand_ins_equal_the_direct_call(cnn):
    raw = image_raw(3)
    kw = {"target": 2, "feature_mask": "grid", "n_segments": 16, "baselines": "black"}
    single = explain(cnn, raw, "feature_ablation", **kw)
    with dv.use_devices(["cpu", "cpu"]):
        split = explain(cnn, raw, "feature_ablation", **kw)
    np.testing.assert_array_equal(split.values, single.values)
    rows = split.extras["device_rows"]
    assert len(rows) == 2 and min(rows) >= 8  # 16 ablations cut in two halves
    x = cnn.preprocess(raw)
    mask = torch.as_tensor(split.extras["segments"])[None, None].expand_as(x)
    direct = FeatureAblation(cnn.forward).attribute(
        x, baselines=torch.full_like(x, -2.0), target=2, feature_mask=mask)
    np.testing.assert_allclose(split.values, direct[0].mean(0).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method,params", [
    ("occlusion", {}), ("shapley_value_sampling", {"n_samples": 3, "n_segments": 9}),
    ("kernel_shap", {"n_samples": 40}), ("lime", {"n_samples": 40}),
    ("gradient_shap", {"n_samples": 8, "n_baselines": 4}),
    ("integrated_gradients", {"n_steps": 16}), ("smoothgrad", {"nt_samples": 6})])
def test_every_split_method_matches_one_device_on_a_cnn(cnn, method, params):
    raw = image_raw(1)
    single = explain(cnn, raw, method, target=0, seed=3, **params)
    with dv.use_devices(["cpu", "cpu"]):
        split = explain(cnn, raw, method, target=0, seed=3, **params)
    np.testing.assert_allclose(split.values, single.values, rtol=1e-5, atol=1e-6)
    assert min(split.extras["device_rows"]) > 0


def test_replicas_are_copies_and_hook_methods_stay_on_one_device(cnn, bag):
    with dv.use_devices(["cpu", "cpu"]):
        twin = dv.replica(cnn, torch.device("cpu"), 1)
        assert twin.module is not cnn.module and twin.info is cnn.info
        assert all(torch.equal(a, b) for a, b in zip(twin.module.parameters(),
                                                     cnn.module.parameters(), strict=True))
        assert "devices" not in explain(cnn, image_raw(), "deeplift").extras
        # text gradients attribute the embedding layer through a hook: not split
        assert "devices" not in explain(bag, TEXT, "integrated_gradients", n_steps=8).extras
        assert "devices" in explain(bag, TEXT, "occlusion").extras


def test_visible_devices_puts_the_models_own_first_and_reads_the_environment(cnn, monkeypatch):
    assert dv.visible_devices(cnn) == [torch.device("cpu")]
    monkeypatch.setenv(dv.ENV_VAR, "cpu,cpu,cpu")
    assert dv.visible_devices(cnn) == [torch.device("cpu")] * 3
    monkeypatch.setenv(dv.ENV_VAR, "gpu-nine")
    with pytest.raises(InputError, match="GLASSBOX_DEVICES"):
        dv.visible_devices(cnn)


class FakeRay:
    """What make_actors asks of Ray: cluster resources and remote(**opts)(cls).remote(model)."""

    def __init__(self, gpus: int):
        self.gpus, self.opts = gpus, []

    def cluster_resources(self) -> dict:
        return {"CPU": 2.0, **({"GPU": float(self.gpus)} if self.gpus else {})}

    def remote(self, **opts):
        self.opts.append(opts)
        return lambda cls: type("Remote", (), {"remote": staticmethod(lambda m: (cls, m))})


@pytest.mark.parametrize("gpus,workers,expected", [(4, 1, 4), (4, 2, 4), (2, 8, 2), (0, 3, 3)])
def test_data_set_jobs_get_one_ray_worker_per_gpu(gpus, workers, expected):
    ray = FakeRay(gpus)
    actors = engines.make_actors(ray, "mnist-cnn", workers)
    assert len(actors) == expected
    assert ray.opts[0].get("num_gpus", 0) == (1 if gpus else 0)

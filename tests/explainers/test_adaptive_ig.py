"""Adaptive integrated gradients: the fewest steps of the schedule meeting the tolerance, the
delta under it, the recorded n_steps reproducing a direct Captum call, passes shown in order."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from explainers import explain
from explainers.methods._adaptive import schedule
from explainers.metrics.convergence import convergence
from models import load_model

RULE = "riemann_trapezoid"  # converges like 1/n: several passes before a tight tolerance


@functools.cache
def mnist():
    m = load_model("mnist-cnn", device="cpu")
    return m, m.samples(1, seed=3)[0][0]


def relative(m, raw, steps: int, tol_base: str = "black") -> float:
    """|delta| / |f(x) - f(baseline)| of a plain IG run at `steps` (tolerance off)."""
    a = explain(m, raw, "integrated_gradients", n_steps=steps, integration_method=RULE)
    x = m.preprocess(raw)
    with torch.no_grad():
        fx = float(m.forward(x)[0, a.target])
        fb = float(m.forward(m.baseline(x, tol_base).to(x))[0, a.target])
    return a.delta / abs(fx - fb)


def test_schedule_doubles_from_eight_up_to_the_most_steps():
    assert schedule(256) == [8, 16, 32, 64, 128, 256]
    assert schedule(50) == [8, 16, 32, 50]
    assert schedule(8) == [8] and schedule(5) == [5]


@pytest.mark.parametrize("tol", [0.05, 0.01])
def test_chosen_steps_are_the_fewest_in_the_schedule_meeting_the_tolerance(tol):
    m, raw = mnist()
    stages = []
    a = explain(m, raw, "integrated_gradients", n_steps=512, tolerance=tol,
                integration_method=RULE, on_stage=stages.append)
    chosen = a.params["n_steps"]
    record = a.extras["adaptive"]
    assert record["converged"] and record["tolerance"] == tol and record["max_steps"] == 512
    plan = schedule(512)
    assert chosen in plan
    # every earlier pass of the schedule misses the tolerance, the chosen one meets it
    # (checked against independent plain runs, not against the record)
    for s in plan[: plan.index(chosen)]:
        assert relative(m, raw, s) > tol, s
    assert relative(m, raw, chosen) <= tol
    assert a.delta / abs(sum(np.ravel(a.values)) or 1) <= tol * 1.05
    assert [p["n_steps"] for p in record["passes"]] == plan[: plan.index(chosen) + 1]
    # the passes before the last reached on_stage, in order, with their own n_steps
    assert [s.params["n_steps"] for s in stages] == plan[: plan.index(chosen)]
    assert convergence(a).converged  # the notice agrees: no unconverged warning


def test_recorded_steps_reproduce_a_direct_captum_call():
    from captum.attr import IntegratedGradients

    m, raw = mnist()
    a = explain(m, raw, "integrated_gradients", n_steps=300, tolerance=0.02,
                integration_method=RULE)
    x = m.preprocess(raw)
    ref = IntegratedGradients(m.forward).attribute(
        x, baselines=m.baseline(x, a.params["baselines"]).to(x), target=a.target,
        n_steps=a.params["n_steps"], method=a.params["integration_method"])
    np.testing.assert_allclose(a.values, ref[0].sum(0).double().numpy(), rtol=1e-4, atol=1e-6)
    again = explain(m, raw, "integrated_gradients", **{k: v for k, v in a.params.items()
                                                       if k != "seed"})
    np.testing.assert_allclose(again.values, a.values)  # the recorded params run it again


def test_the_cap_ends_the_schedule_when_the_tolerance_is_out_of_reach():
    m, raw = mnist()
    a = explain(m, raw, "integrated_gradients", n_steps=12, tolerance=1e-9,
                integration_method=RULE)
    assert a.params["n_steps"] == 12 and not a.extras["adaptive"]["converged"]
    assert [p["n_steps"] for p in a.extras["adaptive"]["passes"]] == [8, 12]


def test_tolerance_zero_is_exactly_n_steps():
    m, raw = mnist()
    a = explain(m, raw, "integrated_gradients", n_steps=17)
    assert a.params["n_steps"] == 17 and a.params["tolerance"] == 0.0
    assert "adaptive" not in a.extras


def test_without_a_pass_under_the_tolerance_the_smallest_delta_is_kept():
    m, raw = mnist()
    a = explain(m, raw, "integrated_gradients", n_steps=40, tolerance=1e-9,
                integration_method="gausslegendre")
    passes = a.extras["adaptive"]["passes"]
    assert [p["n_steps"] for p in passes] == [8, 16, 32, 40]
    kept = min(passes, key=lambda p: (p["relative_delta"], p["n_steps"]))
    assert a.params["n_steps"] == kept["n_steps"] and not a.extras["adaptive"]["converged"]
    plain = explain(m, raw, "integrated_gradients", n_steps=kept["n_steps"])
    np.testing.assert_allclose(a.values, plain.values, rtol=1e-5, atol=1e-7)
    assert a.delta == pytest.approx(plain.delta, rel=1e-4, abs=1e-6)

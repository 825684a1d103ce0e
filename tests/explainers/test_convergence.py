"""An unconverged path method is said to be so, with a step count that does converge."""
from __future__ import annotations

import pytest

from explainers import explain
from explainers.metrics.convergence import TOLERANCE, convergence
from models import load_model


@pytest.fixture(scope="module")
def mnist():
    model = load_model("mnist-cnn")
    return model, model.samples(5, 0)[0][0]


@pytest.mark.parametrize(("rule", "n"), [("riemann_trapezoid", 4), ("riemann_left", 4),
                                         ("gausslegendre", 2)])
def test_few_steps_are_flagged_and_the_suggested_steps_converge(mnist, rule, n):
    model, raw = mnist
    few = explain(model, raw, "integrated_gradients", n_steps=n, integration_method=rule)
    c = convergence(few)
    assert not c.converged and c.relative == pytest.approx(few.delta / c.scale)
    assert c.scale >= abs(few.output) and c.suggested > n and not c.capped
    assert f"About {c.suggested} steps (now {n})" in c.message()
    more = explain(model, raw, "integrated_gradients", n_steps=c.suggested, integration_method=rule)
    assert convergence(more).converged and convergence(more).message() == ""
    assert more.delta <= TOLERANCE * convergence(more).scale


def test_no_delta_no_verdict_and_stepless_methods_get_no_step_count(mnist):
    model, raw = mnist
    assert convergence(explain(model, raw, "saliency")) is None
    gs = explain(model, raw, "gradient_shap", n_samples=2, seed=0)
    c = convergence(gs)
    assert c.steps is None and c.suggested is None
    if not c.converged:
        assert "only in expectation" in c.message()

"""AppTest: doubts shown where they arise: an unconverged path method, with the steps that fix it."""
from __future__ import annotations

from dashboard import state
from explainers.metrics.convergence import convergence
from tests.dashboard.helpers import errors, start

MODEL = "mnist-cnn"
IG = "integrated_gradients"


def test_unconverged_ig_warns_and_the_suggested_steps_converge():
    at = start(MODEL, **{state.AUTO_RAN: True})
    at.multiselect(key=f"methods::{MODEL}").set_value([IG])
    at.number_input(key=f"param::{IG}::n_steps").set_value(4)
    at.selectbox(key=f"param::{IG}::integration_method").set_value("riemann_trapezoid")
    at.button(key=state.RUN).click().run()
    assert not at.exception and not errors(at)
    (_, a), = at.session_state[state.RESULTS]["items"]
    found = convergence(a)
    assert not found.converged
    assert [w.value for w in at.warning] == [found.message()]
    at.button(key=f"explain::{IG}::more_steps").click().run()  # re-runs by itself
    assert not at.exception and not errors(at)
    (_, b), = at.session_state[state.RESULTS]["items"]
    assert b.params["n_steps"] == found.suggested and convergence(b).converged
    assert not at.warning


def test_default_ig_on_mnist_has_no_notice():
    at = start(MODEL)  # the first page explains IG (50 Gauss-Legendre steps) by itself
    assert not at.exception and not errors(at)
    items = dict(at.session_state[state.RESULTS]["items"])
    assert convergence(items[IG]).converged and not at.warning

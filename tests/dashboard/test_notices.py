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


def _png(arr) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_grey_gradient_upload_is_flagged_as_far_from_the_training_data():
    import numpy as np

    at = start(MODEL, **{state.AUTO_RAN: True})
    assert not at.warning  # a bundled digit: no doubt
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    ramp = np.tile(np.linspace(0, 255, 28), (28, 1)).astype(np.uint8)
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("ramp.png", _png(ramp), "image/png").run()
    assert not at.exception and not errors(at)
    shown = [w.value for w in at.warning]
    assert shown[0].startswith(f"This input looks unlike the data {MODEL} was trained on")
    assert all(w.startswith(("This input looks unlike", "Close call")) for w in shown)


def test_close_call_notice_sets_the_runner_up_as_target():
    at = start(MODEL, **{state.AUTO_RAN: True, state.IMAGE_SAMPLE: 187})  # '3' 48.8% vs '7' 48.6%
    assert not at.exception and not errors(at)
    (w,) = [w.value for w in at.warning]
    assert w.startswith("Close call: '3' 49% vs '7' 49%")
    at.button(key="prediction::runner_up").click().run()
    assert not at.exception and at.session_state[state.TARGET] == 7


def test_a_sanity_failure_on_the_trust_page_is_shown_beside_the_explain_result():
    at = start(MODEL)  # explains IG on sample #0 by itself
    at.switch_page("app_pages/trust.py").run()
    at.checkbox(key=state.TRUST_HEAVY).check().run()
    at.button(key=state.TRUST_RUN).click().run()
    assert not at.exception and not errors(at)
    sanity = at.session_state[state.TRUST_RESULTS]["report"].row(IG).sanity
    assert sanity.failed == ("absolute",)
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception
    (w,) = [w.value for w in at.warning]
    assert w.startswith(f"{IG} failed the sanity check on this input")

"""Trust page on the fusion model with methods never run on the Explain page (issue 15): each
gets only the parameters it declares for fusion models (no merge_words, no base), and scores."""
from __future__ import annotations

from dashboard import state
from tests.dashboard.helpers import errors, start

TRUST = "app_pages/trust.py"
METHODS = ["saliency", "input_x_gradient", "smoothgrad"]


def test_methods_not_run_on_explain_are_scored_with_their_own_params():
    at = start("digit-text-fusion", page=TRUST, **{state.TRUST_STEPS: 5})
    at.multiselect(key="trust_methods::digit-text-fusion").set_value(METHODS).run()
    at.button(key=state.TRUST_RUN).click().run()
    assert not at.exception, at.exception
    assert errors(at) == []  # was: "saliency has no parameter 'merge_words' for fusion models"
    report = at.session_state[state.TRUST_RESULTS]["report"]
    assert sorted(r.method for r in report.methods) == sorted(METHODS)


def test_widget_params_are_the_ones_the_method_declares_for_the_model():
    from dashboard import trust_panel
    from explainers import get_method, list_methods
    from models import load_model

    model = load_model("digit-text-fusion")
    for name in list_methods(model):
        declared = {p.name for p in get_method(name).params_for(model)}
        assert set(trust_panel.widget_params(model, name)) == declared, name

"""A method added as one file (lrp, shapley_value_sampling) is offered on every page that lists
methods, with its Param spec as widgets, and runs on the Explain page: nothing else was edited."""
from __future__ import annotations

import pytest

from tests.dashboard.helpers import errors, start

PAGES = ["app_pages/explain.py", "app_pages/compare.py", "app_pages/trust.py",
         "app_pages/dataset.py"]


def method_options(at) -> set[str]:
    """Every option of every method multiselect on the page (labels or keys)."""
    return {str(o) for ms in at.multiselect for o in ms.options}


@pytest.mark.parametrize("page", PAGES)
def test_new_methods_are_listed_on_every_page(page):
    at = start("mnist-cnn", page=page)
    options = " ".join(method_options(at)).lower()
    assert "lrp" in options and "shapley value sampling" in options, options


def test_new_methods_run_on_the_explain_page_with_their_widgets():
    from dashboard import state

    at = start("mnist-cnn")
    ms = next(m for m in at.multiselect if "Integrated gradients" in m.options
              or "integrated_gradients" in m.options)
    labels = [o for o in ms.options if "LRP" in o or "Shapley value sampling" in o]
    ms.set_value(labels).run()
    assert not at.exception, at.exception
    widgets = {w.label for w in [*at.selectbox, *at.number_input, *at.slider]}
    assert any("rule" in str(w).lower() for w in widgets), widgets
    run = next(b for b in at.button if b.label.startswith("Explain"))
    run.click().run()
    assert not at.exception and not errors(at), (at.exception, errors(at))
    results = at.session_state[state.RESULTS]["items"]
    assert {m for m, _ in results} >= {"lrp", "shapley_value_sampling"}

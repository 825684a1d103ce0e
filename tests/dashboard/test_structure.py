"""AppTest: the dashboard's structure: one path from a result to its figures, one picture per input."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from dashboard import state
from explainers import Attribution
from tests.dashboard.helpers import start


@pytest.fixture
def drawn(monkeypatch):
    """Every explainers.plots call: (plot name, method), method "" when not given a result."""
    from explainers import plots

    calls: list[tuple[str, str]] = []
    for name in plots.__all__:
        fn = getattr(plots, name)

        def spy(*args, _fn=fn, _name=name, **kwargs):
            a = args[0] if args else None
            calls.append((_name, a.method if isinstance(a, Attribution) else ""))
            return _fn(*args, **kwargs)

        monkeypatch.setattr(plots, name, spy)
    return calls


def _per_method(calls: list[tuple[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, method in calls:
        if method:
            out.setdefault(method, set()).add(name)
    return out


def _results(at, key: str = state.RESULTS) -> dict[str, Attribution]:
    items = at.session_state[key]["items"]
    return {n: a for n, a in items if isinstance(a, Attribution)}


@pytest.mark.parametrize("model", ["stub-image", "stub-text", "stub-table"])
def test_explain_page_draws_exactly_what_plots_names(stubs, drawn, model):
    methods = {"stub-image": ["stub_grad", "stub_abs"], "stub-text": ["stub_tokens"],
               "stub-table": ["stub_grad", "stub_abs"]}[model]
    at = start(model, **{state.AUTO_RAN: True})
    at.multiselect(key=f"methods::{model}").set_value(methods)
    drawn.clear()
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    results = _results(at)
    assert sorted(results) == sorted(methods)
    assert _per_method(drawn) == {m: set(a.plots()) for m, a in results.items()}


def test_attention_result_draws_its_grid_too(stubs, drawn):
    from explainers import base
    from explainers.methods.attention import AttentionRolloutMethod

    base.REGISTRY["attention_rollout"] = AttentionRolloutMethod()
    at = start("stub-transformer", **{state.AUTO_RAN: True})
    at.multiselect(key="methods::stub-transformer").set_value(["attention_rollout"])
    drawn.clear()
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    a = _results(at)["attention_rollout"]
    assert "attention_grid" in a.plots()  # drawn from the result's extras["attention"]
    assert _per_method(drawn) == {"attention_rollout": set(a.plots()) - {"attention_grid"}}
    assert ("attention_grid", "") in drawn


def test_compare_page_draws_exactly_what_plots_names(stubs, drawn):
    at = start("stub-image", page="app_pages/compare.py")
    at.multiselect(key="compare_methods::stub-image").set_value(["stub_grad", "stub_abs"])
    drawn.clear()
    at.button(key=state.COMPARE_RUN).click().run()
    assert not at.exception and not at.error
    results = _results(at, state.COMPARE_RESULTS)
    assert _per_method(drawn) == {m: set(a.plots()) for m, a in results.items()}


@pytest.fixture
def pictures(stubs, monkeypatch):
    """Counts of display_image calls on the stand-in image model, per input (by its bytes)."""
    model = stubs["stub-image"]
    counts: Counter[bytes] = Counter()
    real = model.display_image

    def counting(raw):
        counts[np.asarray(raw).tobytes()] += 1
        return real(raw)

    monkeypatch.setattr(model, "display_image", counting)
    return counts


def test_each_picture_is_made_once_per_input_per_rerun(stubs, pictures):
    """The gallery thumbnail and every result's overlay show one input: one display_image."""
    at = start("stub-image")  # the first page explains the first sample with two methods
    assert len(_results(at)) == 2
    assert pictures and max(pictures.values()) == 1, pictures.values()
    first = stubs["stub-image"].samples(1)[0][0]
    assert pictures[np.asarray(first).tobytes()] == 1
    pictures.clear()
    at.slider(key=state.widget_key(state.OPACITY, "explain", "stub_grad", "heatmap_overlay")
              ).set_value(0.8).run()
    assert not at.exception
    assert sum(pictures.values()) == 0  # later reruns reuse it


def test_uploaded_image_is_decoded_once_per_rerun(stubs, monkeypatch):
    from dashboard import inputs
    from tests.e2e.helpers import png_bytes

    decoded = []
    real = inputs.read_image
    monkeypatch.setattr(inputs, "read_image", lambda data, name: decoded.append(name)
                        or real(data, name))
    at = start("stub-image", **{state.AUTO_RAN: True})
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("seven.png", png_bytes(np.full((28, 28, 3), 200, np.uint8)), "image/png")
    decoded.clear()
    at.run()
    assert not at.exception and not at.error
    assert decoded == ["seven.png"]

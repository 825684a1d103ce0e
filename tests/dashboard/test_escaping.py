"""Dashboard HTML sinks with hostile strings that survive tokenization (issue 15: the old test's
stub tokenizer turned <script> into [UNK], so it passed with escaping removed). Every markdown
block rendered with HTML allowed is parsed: the same elements as its harmless twin, no on*
handler, each string shown as text; Plotly labels (which render a subset of HTML) carry only
escaped forms."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.dashboard.conftest import APP
from tests.explainers.test_escaping_report import NamedTable, VerbatimText
from tests.html_audit import BENIGN, HOSTILE, assert_nothing_injected


@pytest.fixture
def hostile_models(monkeypatch):
    """Four models: a text and a table model named and labelled with HOSTILE, and twins."""
    from dashboard import cache

    models = {}
    for words in (HOSTILE, BENIGN):
        for m in (VerbatimText(words), NamedTable(words)):
            models[m.info.name] = m
    monkeypatch.setattr(cache, "model_names", lambda: list(models))
    monkeypatch.setattr(cache, "get_model", lambda name: models[name])
    monkeypatch.setattr(cache, "get_samples", lambda name, n=None: (
        models[name].samples(n) if hasattr(models[name], "samples") else []))
    return models


def html_blocks(at: AppTest) -> str:
    """Every markdown block the page sent with HTML allowed (token highlights and the like)."""
    return "\n".join(m.value for m in at.markdown if m.proto.allow_html)


def explain_page(model_name: str, methods: list[str], **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[state.MODEL] = model_name
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    at.multiselect(key=f"methods::{model_name}").set_value(methods).run()
    at.button(key=state.RUN).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_token_highlights_and_class_names_on_the_explain_page(hostile_models):
    def page(words):
        name = VerbatimText(words).info.name
        return explain_page(name, ["saliency", "integrated_gradients"],
                            **{state.TEXT: " ".join(words) + " film"})

    hostile = page(HOSTILE)
    html = html_blocks(hostile)
    assert html.count("<span") >= 2 * len(HOSTILE)  # a highlighted token per hostile word
    assert_nothing_injected(html, html_blocks(page(BENIGN)))


def test_feature_and_class_names_in_charts_and_tables(hostile_models):
    def page(words):
        at = explain_page(NamedTable(words).info.name, ["saliency"])
        return at, json.dumps([json.loads(c.proto.spec) for c in at.get("plotly_chart")])

    hostile, figures = page(HOSTILE)
    for word in HOSTILE[:4]:  # feature names (and the first two are the class names)
        assert word not in figures  # Plotly renders <b>, <a href> ...: only escaped forms
    assert_nothing_injected(html_blocks(hostile), html_blocks(page(BENIGN)[0]), ())

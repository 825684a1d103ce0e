"""AppTest: the Trust page shows what trust_report gives; bad states; trust in HTML/JSON reports."""
from __future__ import annotations

import json

import numpy as np
import pytest

import explainers
from dashboard import state
from dashboard.runner import IG_TOLERANCE
from explainers.metrics import trust_report
from tests.dashboard.helpers import decode, errors, figures, start
from tests.dashboard.test_builtin_models import loadable

TRUST = "app_pages/trust.py"


def curve(fig: dict, name: str) -> np.ndarray:
    """The y values of the trace whose legend name starts with `name (AUC`."""
    (trace,) = [t for t in fig["data"] if t["name"].startswith(f"{name} (AUC")]
    return np.asarray(decode(trace["y"]), float)


def score_table(at):
    """The Trust page's score table (the input box may hold a data editor too)."""
    (side,) = [d.value for d in at.table if "score" in d.value.columns]
    assert side["score"].iloc[0] == "rank"  # one row per score, one column per method
    table = side.set_index("score").T.rename_axis("method").reset_index()
    return table.dropna(axis=1, how="all")


# the Explain page's IG is adaptive (dashboard default tolerance); Trust scores what it showed
EXPLAIN_PAGE = {"integrated_gradients": {"tolerance": IG_TOLERANCE}}


def direct(name: str, methods: list[str], heavy: bool, params: dict | None = None, **kw):
    model = loadable(name)
    raw, _ = model.samples(200, 0)[0]
    atts = {m: explainers.explain(model, raw, m, **(params or {}).get(m, {})) for m in methods}
    return model, raw, trust_report(model, raw, atts, heavy=heavy, steps=20, seed=0,
                                    seeds=range(5), **kw)


def check_page_matches(at, rep) -> None:
    """Ranking, the score table, the metrics and every curve equal the direct report."""
    assert not at.exception and not errors(at)
    table = score_table(at)
    assert list(table["method"]) == [explainers.get_method(m).label for m in rep.ranking]
    for i, name in enumerate(rep.ranking):
        r = rep.row(name)
        f = r.faithfulness
        got = table.iloc[i]
        np.testing.assert_allclose(
            [got["deletion AUC"], got["insertion AUC"], got["random deletion AUC"],
             got["infidelity"]],
            [f.deletion_auc, f.insertion_auc, f.random_deletion_auc, r.infidelity.value],
            rtol=1e-4)
        assert got["rank"] == i + 1
    curves = [f for f in figures(at) if "removed / added" in f["layout"]["title"]["text"]]
    assert len(curves) == len(rep.ranking)
    for fig, name in zip(curves, rep.ranking, strict=True):
        f = rep.row(name).faithfulness
        np.testing.assert_allclose(curve(fig, "deletion"), f.deletion, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(curve(fig, "insertion"), f.insertion, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(curve(fig, "random deletion"), f.random_deletion, rtol=1e-4)
    text = " ".join(m.value for m in at.markdown)
    for name in rep.ranking:
        assert rep.readings[name][0] in text  # the plain-language reading is on the page


@pytest.mark.slow
def test_tabular_light_scores_equal_a_direct_trust_report():
    methods = ["integrated_gradients", "kernel_shap"]
    _, _, rep = direct("breast-cancer-mlp", methods, heavy=False, params=EXPLAIN_PAGE)
    at = start("breast-cancer-mlp", page=TRUST)
    assert at.info[-1].value.startswith("Press **Score trust**")  # nothing scored yet
    assert at.multiselect(key="trust_methods::breast-cancer-mlp").value == methods  # Explain's
    at.button(key=state.TRUST_RUN).click().run()
    check_page_matches(at, rep)
    assert "max-sensitivity" not in score_table(at)  # light by default
    assert at.session_state[state.TRUST_RESULTS]["report"].heavy is False
    at.button(key="trust::build").click().run()  # the page's HTML report carries the scores
    assert not at.exception and not errors(at)
    html = at.session_state[state.REPORT]["html"].decode("utf-8")
    assert "<h2>Trust scores</h2>" in html and "<h2>Trust: kernel_shap</h2>" in html


@pytest.mark.slow
def test_mnist_heavy_scores_show_sanity_and_stability():
    methods = ["integrated_gradients", "grad_cam"]
    _, _, rep = direct("mnist-cnn", methods, heavy=True, params=EXPLAIN_PAGE)
    at = start("mnist-cnn", page=TRUST)
    at.checkbox(key=state.TRUST_HEAVY).check().run()
    at.button(key=state.TRUST_RUN).click().run()
    check_page_matches(at, rep)
    table = score_table(at)
    for i, name in enumerate(rep.ranking):
        r = rep.row(name)
        assert table.iloc[i]["sanity passed"] == r.sanity.passed
        np.testing.assert_allclose(table.iloc[i]["sanity |map| correlation"],
                                   r.sanity.variants["absolute"][-1], atol=1e-9)
        np.testing.assert_allclose(table.iloc[i]["max-sensitivity"], r.max_sensitivity.value,
                                   rtol=1e-3)
        assert table.iloc[i]["stability"] == 1.0  # both methods are deterministic
    sanity = [f for f in figures(at) if "sanity check" in f["layout"]["title"]["text"]]
    assert len(sanity) == len(rep.ranking)
    for fig, name in zip(sanity, rep.ranking, strict=True):
        np.testing.assert_allclose(np.asarray(decode(fig["data"][0]["y"]), float)[1:],
                                   rep.row(name).sanity.correlations, atol=1e-6)
        np.testing.assert_allclose(np.asarray(decode(fig["data"][1]["y"]), float)[1:],
                                   rep.row(name).sanity.other_correlations, atol=1e-6)
    # |IG| keeps the digit's shape on a random model (Adebayo et al. 2018): flagged, and said so
    ig = rep.row("integrated_gradients").sanity
    assert ig.failed == ("absolute",) and not ig.passed
    shown = {m.label: m.value for m in at.metric}
    assert shown["sanity check (absolute maps)"] == "FAILED" and "passed" in shown.values()


def test_no_input_shows_one_info_line(stubs):
    at = start("stub-image", page=TRUST, **{state.IMAGE_SOURCE: "Upload"})
    assert not at.exception and not errors(at)
    assert [i.value for i in at.info][-1].startswith("No input yet")
    assert not at.button  # nothing to run


def test_a_failing_method_is_one_error_line_and_the_rest_is_scored(stubs):
    at = start("stub-image", page=TRUST)
    at.multiselect(key="trust_methods::stub-image").set_value(["stub_grad", "stub_fail"]).run()
    at.button(key=state.TRUST_RUN).click().run()
    assert not at.exception
    assert errors(at) == ["Stub failure failed: stub_fail cannot explain this input (on purpose)"]
    report = at.session_state[state.TRUST_RESULTS]["report"]
    assert [r.method for r in report.methods] == ["stub_grad"]
    assert any("removed / added" in f["layout"]["title"]["text"] for f in figures(at))


def test_html_and_json_reports_carry_the_trust_scores():
    from explainers.report import build_report, to_html_bytes, to_json_bytes

    model, raw, rep = direct("breast-cancer-mlp", ["integrated_gradients", "saliency"], False)
    atts = [explainers.explain(model, raw, m) for m in rep.ranking]
    report = build_report(model, raw, atts, trust=rep, seed=0)
    html = to_html_bytes(report).decode("utf-8")
    assert "<h2>Trust scores</h2>" in html and "<h2>Trust: integrated_gradients</h2>" in html
    reading = rep.readings["integrated_gradients"][0].replace("'", "&#x27;")
    assert reading in html
    assert "deletion (AUC" in html and "random insertion (AUC" in html  # the curve figures
    doc = json.loads(to_json_bytes(report)[0])
    for name in rep.ranking:
        f = rep.row(name).faithfulness
        assert doc["trust"][name]["deletion AUC"] == pytest.approx(f.deletion_auc)
        assert doc["trust"][name]["infidelity"] == pytest.approx(rep.row(name).infidelity.value)
        assert doc["trust"][name]["rank"] == rep.ranking.index(name) + 1
    data = doc["sections"][0]["data"]
    assert doc["sections"][0]["title"] == "Trust scores" and data["ranking"] == list(rep.ranking)
    np.testing.assert_allclose(data["methods"][0]["faithfulness"]["deletion"],
                               rep.methods[0].faithfulness.deletion, atol=1e-6)

"""Reports in a real browser: the offline HTML draws every chart; the PDF has the right text."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from explainers import explain
from explainers.report import build_report, save
from tests.explainers.test_report_stubs import digit_image, stubs_fixture  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
ROW = {"f0": 0.5, "f1": -1.0, "f2": 2.0, "<b>f3</b>": 0.25}

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true" or os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium fonts-liberation)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium fonts-liberation)")
    return CHROMIUM


def _report(stubs, kind: str):
    m = stubs[kind]()
    raw = {"stub-tabular": ROW, "stub-image": digit_image(),
           "stub-text": "a <script>alert(1)</script> film"}[kind]
    methods = ["stub_ixg", "stub_noise"] if kind != "stub-text" else ["stub_noise"]
    return build_report(m, raw, [explain(m, raw, k, seed=0) for k in methods], seed=0)


@pytest.mark.parametrize("kind", ["stub-tabular", "stub-image", "stub-text"])
def test_html_renders_every_chart_offline(stubs, pw_browser, tmp_path, kind):
    # the session's one browser (tests/conftest.py): a second sync_playwright() in the same
    # thread fails once the dashboard e2e tests have started theirs
    path = save(_report(stubs, kind), tmp_path / "report.html")
    expected = path.read_text().count('class="plotly-graph-div"')
    outside, errors, dialogs = [], [], []
    context = pw_browser.new_context(offline=True)
    try:
        page = context.new_page()
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:"))
                else outside.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_function(
            "n => [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(d => d.querySelector('.main-svg')).length >= n", arg=expected, timeout=30_000)
        drawn = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        svgs = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')]"
                             ".filter(d => d.querySelector('svg.main-svg')).length")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    finally:
        context.close()
    assert drawn == svgs == expected >= 2
    assert outside == [] and errors == [] and dialogs == []


def test_pdf_has_model_prediction_and_a_page_per_method(stubs, chromium, tmp_path):
    from pypdf import PdfReader

    rep = _report(stubs, "stub-tabular")
    path = save(rep, tmp_path / "report.pdf")
    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 1 + len(rep.attributions)
    assert "stub-tabular" in text and f"Prediction: {rep.predicted_label}" in text
    for a in rep.attributions:
        assert a.method in text

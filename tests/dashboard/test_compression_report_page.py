"""AppTest: the Compression page builds an HTML report of its run on click, with the same numbers."""
from __future__ import annotations

import html

import pytest

from tests.dashboard.helpers import start
from tests.dashboard.test_compression_page import PAGE, _setup, tiny  # noqa: F401  (fixture)


@pytest.mark.slow
def test_report_button_builds_the_runs_html(tiny):  # noqa: F811
    at = start("tiny-digits", page=PAGE)
    _setup(at, ["saliency"])
    at.radio(key="compress_op").set_value("Quantize").run()
    at.button(key="compress_run").click().run()
    assert not at.exception and not at.error
    assert not at.get("download_button")  # built only on request
    at.button(key="compress_report_build").click().run()
    assert not at.exception and not at.error
    assert at.download_button(key="compress_report_dl").label == "Report (HTML)"
    res = at.session_state["compress_result"]
    (_, comp), page = res["rows"][0], res["report"].decode("utf-8")
    assert "<h2>Compression</h2>" in page and f"<td>{html.escape(comp.compressed)}</td>" in page
    assert f"<td>{comp.accuracy:.4f}</td>" in page and "saliency needs gradients" in page

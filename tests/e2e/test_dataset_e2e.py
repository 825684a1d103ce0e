"""Real browser: run a job on the Data set page, click a confusion-matrix cell, open an input."""
from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import playwright_api, wait_for_app_idle

pytestmark = pytest.mark.e2e
expect = playwright_api().expect

LONG = 180_000
LIMIT = 60
OVERLAY = '[data-testid="stPlotlyChart"] g.heatmaplayer'
# the centre of a cell of the confusion matrix's click layer (trace 1), in page pixels: the
# fullest off-diagonal cell (misclassified inputs), else the fullest cell
CELL_JS = """(gd) => {
  const t = gd.data[1], n = Math.round(Math.sqrt(t.customdata.length));
  const score = (c) => c[2] > 0 ? c[2] + (c[0] !== c[1] ? 1e9 : 0) : -1;
  let best = 0;
  t.customdata.forEach((c, i) => { if (score(c) > score(t.customdata[best])) best = i; });
  const L = gd._fullLayout, r = gd.getBoundingClientRect();
  return {index: best, n: n, count: t.customdata[best][2],
          x: r.left + L.xaxis._offset + L.xaxis.d2p(t.x[best]),
          y: r.top + L.yaxis._offset + L.yaxis.d2p(t.y[best])};
}"""
PROGRESSED = """() => [...document.querySelectorAll('[data-testid=stProgress] [role=progressbar]')]
  .some(p => Number(p.getAttribute('aria-valuenow')) > 0)"""


def save(page, artifacts_dir, name: str) -> None:
    """Whole-page screenshot (Streamlit scrolls inside stMain: grow the viewport first)."""
    wait_for_app_idle(page, LONG)
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 800), 9000)})
    page.wait_for_timeout(1500)
    page.screenshot(path=artifacts_dir / name)
    page.set_viewport_size(size)


def run_bundled_job(page) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("mnist-cnn ·").first).to_be_visible(timeout=LONG)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data set").click()
    expect(page.get_by_role("heading", name="Data set", exact=True)).to_be_visible(timeout=LONG)
    limit = page.get_by_test_id("stNumberInput").filter(has_text="Inputs").locator("input")
    limit.fill(str(LIMIT))
    limit.press("Enter")
    wait_for_app_idle(page, LONG)
    page.get_by_test_id("stButton").get_by_role("button", name="Run").click()
    expect(page.get_by_text(re.compile(r"^Done: \d+ inputs")).first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("confusion matrix (click a cell").first).to_be_visible(timeout=LONG)


def test_click_a_cell_and_open_an_input_explained(page, artifacts_dir):
    run_bundled_job(page)
    expect(page.get_by_text(f"Last job: {LIMIT} of {LIMIT} inputs").first).to_be_visible()
    save(page, artifacts_dir, "dataset_01_job.png")
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="confusion matrix").first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    cell = chart.locator(".js-plotly-plot").evaluate(CELL_JS)
    assert cell["n"] == 10 and cell["count"] >= 1
    page.mouse.move(cell["x"], cell["y"])
    page.mouse.click(cell["x"], cell["y"])
    listed = page.get_by_text(re.compile(rf"^{int(cell['count'])} input\(s\): true"))
    expect(listed.first).to_be_visible(timeout=LONG)
    opens = page.get_by_test_id("stButton").get_by_role("button", name="Open in Explain")
    expect(opens.first).to_be_visible()
    assert opens.count() >= min(int(cell["count"]), 24)
    save(page, artifacts_dir, "dataset_02_cell.png")
    caption = page.get_by_test_id("stCaptionContainer").filter(has_text="→").first.inner_text()
    row_id = caption.split()[0]
    opens.first.click()
    expect(page.get_by_role("heading", name="Explain a prediction")).to_be_visible(timeout=LONG)
    done = page.get_by_text(re.compile(r"^Done: \d+ method"))  # explained on arrival
    expect(done.first).to_be_visible(timeout=LONG)
    expect(page.locator(OVERLAY).first).to_be_visible(timeout=LONG)
    index = row_id.rpartition(":")[2]
    expect(page.get_by_text(re.compile(rf"^Input: #{index} · true")).first).to_be_visible()
    save(page, artifacts_dir, "dataset_03_explain.png")


def test_cancel_stops_a_long_job_and_keeps_the_page(page, artifacts_dir):
    run_bundled_job(page)  # a finished job first: its results must stay after the cancel
    limit = page.get_by_test_id("stNumberInput").filter(has_text="Inputs").locator("input")
    limit.fill("2000")
    limit.press("Enter")
    wait_for_app_idle(page, LONG)
    page.get_by_test_id("stButton").get_by_role("button", name="Run").click()
    cancel = page.get_by_test_id("stButton").get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible(timeout=LONG)
    page.wait_for_function(PROGRESSED, timeout=LONG)  # the first chunk of inputs is written
    cancel.click()
    stopped = page.get_by_text(re.compile(r"^Stopped after [1-9]\d* of 1000 inputs"))
    expect(stopped.first).to_be_visible(timeout=LONG)
    expect(page.get_by_text(f"Last job: {LIMIT} of {LIMIT} inputs").first).to_be_visible()
    expect(cancel).to_have_count(0)
    save(page, artifacts_dir, "dataset_04_cancelled.png")

"""Real browser: the Trust page scores the default digit and draws the curves and readings."""
from __future__ import annotations

import time

import pytest

from tests.e2e.helpers import playwright_api, wait_for_app_idle
from tests.e2e.test_dashboard_e2e import LONG, need_model, record, save

pytestmark = pytest.mark.e2e
expect = playwright_api().expect


def test_trust_page_scores_and_draws_the_curves(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    page.get_by_role("link", name="Trust", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("How far to trust each explanation")).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    t0 = time.perf_counter()
    main.get_by_role("button", name="Score trust").click()
    # a Plotly SVG whose legend names the deletion curve, and the plain-language reading
    legend = main.locator('[data-testid="stPlotlyChart"] svg g.legend text',
                          has_text="deletion (AUC")
    expect(legend.first).to_be_visible(timeout=LONG)
    expect(main.get_by_text("most important pixels").first).to_be_visible(timeout=LONG)
    record(artifacts_dir, trust_light_s=time.perf_counter() - t0)
    expect(main.get_by_text("Ranking for this input").first).to_be_visible()
    # 2 curves + 2 agreement charts; they may still be drawing when the ranking shows (busy CPU)
    expect(main.locator('[data-testid="stPlotlyChart"]').nth(3)).to_be_visible(timeout=LONG)
    assert not main.get_by_test_id("stException").count()
    save(page, artifacts_dir, "trust-mnist.png", doc="trust.png", focus=legend.first)

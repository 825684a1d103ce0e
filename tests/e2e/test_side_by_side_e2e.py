"""Real browser: a built-in beside its kept bfloat16 copy on one input, both maps and agreement."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import wait_for_app_idle
from tests.e2e.test_dashboard_e2e import LONG, need_model, save
from tests.e2e.test_notices_e2e import choose

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect


def keep_bfloat16_copy(page) -> None:
    """Compression page: quantize mnist-cnn to bfloat16 and keep the copy for the session."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compression").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Compression lab").first).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    main.get_by_text("Quantize", exact=True).click()
    wait_for_app_idle(page, LONG)
    choose(page, main.get_by_test_id("stSelectbox").filter(has_text="Precision"), "bfloat16")
    wait_for_app_idle(page, LONG)
    main.get_by_test_id("stButton").get_by_role("button", name="Run").click()
    keep = main.get_by_role("button", name="Keep mnist-cnn (bfloat16)")
    expect(keep).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    keep.click()
    expect(main.get_by_text("Kept: mnist-cnn (bfloat16)").first).to_be_visible(timeout=LONG)


def test_two_models_side_by_side_with_both_maps_and_agreement(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    keep_bfloat16_copy(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("button", name="Compare", exact=True)).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    main.get_by_role("radio", name="Models", exact=True).click()
    picker = main.get_by_test_id("stMultiSelect").filter(has_text="Models beside mnist-cnn")
    expect(picker).to_contain_text("mnist-cnn (bfloat16) (kept)", timeout=LONG)
    wait_for_app_idle(page, LONG)
    main.get_by_role("button", name="Compare models").click()
    expect(main.get_by_text("Every model predicts").first).to_be_visible(timeout=LONG)
    expect(main.get_by_text("predicts 0 (")).to_have_count(2, timeout=LONG)  # one per model
    maps = main.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator("g.heatmaplayer")) \
        .filter(has_not_text="Spearman").filter(has_not_text="overlap")
    expect(maps.nth(1)).to_be_visible(timeout=LONG)  # a map for each of the two models
    for title in ("Spearman rank correlation of |maps|", "Top-"):
        expect(main.locator('[data-testid="stPlotlyChart"]').filter(has_text=title).first
               ).to_be_visible(timeout=LONG)
    assert not main.get_by_test_id("stException").count()
    save(page, artifacts_dir, "11_models_side_by_side.png")

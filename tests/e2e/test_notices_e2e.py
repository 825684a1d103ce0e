"""Real browser: doubts shown where they arise (unconverged IG), special tokens apart, sanity variants."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import playwright_api, wait_for_app_idle
from tests.e2e.test_dashboard_e2e import (
    LONG,
    OVERLAY,
    choose_model,
    click_explain,
    need_model,
    save,
)

pytestmark = pytest.mark.e2e
expect = playwright_api().expect
PlaywrightTimeout = playwright_api().TimeoutError


def choose(page, box, option: str) -> None:
    """Open a selectbox and pick an option; reopen it if a rerun closed the list meanwhile."""
    for _ in range(4):
        box.locator('input[role="combobox"]').click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_for_app_idle(page, LONG)
    pytest.fail(f"option {option!r} never appeared")


def test_unconverged_ig_shows_a_notice_and_reruns_with_more_steps(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    main = page.get_by_test_id("stMain")
    expect(main.locator(OVERLAY).first).to_be_visible(timeout=LONG)  # the first page's own run
    main.get_by_text("Method parameters").click()
    steps = main.get_by_test_id("stNumberInput").filter(has_text="n_steps").locator("input").first
    steps.fill("4")
    steps.press("Enter")
    # the settings changed, so the old results give way to the prompt (wait for it, then go on)
    expect(main.get_by_text("Press Explain").first).to_be_visible(timeout=LONG)
    expect(steps).to_have_value("4")
    wait_for_app_idle(page, LONG)
    choose(page, main.get_by_test_id("stSelectbox").filter(has_text="integration_method"),
           "riemann_trapezoid")
    wait_for_app_idle(page, LONG)
    click_explain(page)
    notice = main.get_by_test_id("stAlert").filter(has_text="has not converged")
    expect(notice.first).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "07_unconverged_ig.png")
    main.get_by_role("button", name="Re-run with n_steps").click()
    expect(notice).to_have_count(0, timeout=LONG)
    expect(main.get_by_text("n_steps=").first).to_be_visible()
    save(page, artifacts_dir, "08_converged_ig.png")


def test_attention_page_leaves_special_tokens_out_of_the_bars(page, artifacts_dir):
    if not choose_model(page, "sentiment-minilm"):
        pytest.fail("sentiment-minilm did not load")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Attention").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Left out of the bars: special tokens").first
           ).to_be_visible(timeout=LONG)
    expect(main.get_by_text("[CLS]").first).to_be_visible()
    save(page, artifacts_dir, "09_attention_specials.png")


def test_trust_heavy_flags_ig_on_the_absolute_variant(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    page.get_by_role("link", name="Trust", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("How far to trust each explanation")).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    main.get_by_text("Heavy scores").click()
    wait_for_app_idle(page, LONG)
    main.get_by_role("button", name="Score trust").click()
    expect(main.get_by_text("FAILED (absolute)").first).to_be_visible(timeout=LONG)
    expect(main.get_by_text("absolute maps").first).to_be_visible()
    save(page, artifacts_dir, "10_trust_sanity_variants.png")

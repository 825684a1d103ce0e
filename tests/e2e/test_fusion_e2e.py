"""Real-browser test: digit-text-fusion on the Explain page (image heatmap, tokens, share bar)."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import playwright_api
from tests.e2e.test_dashboard_e2e import LONG, OVERLAY, click_explain, need_model, save

pytestmark = pytest.mark.e2e
expect = playwright_api().expect

PHRASE = "definitely the number 3"


def test_fusion_digit_and_phrase_give_heatmap_tokens_and_share(page, artifacts_dir):
    need_model(page, "digit-text-fusion")
    area = page.get_by_test_id("stTextArea").locator("textarea")
    area.fill(PHRASE)
    area.press("Control+Enter")
    expect(page.get_by_text("Predicted").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Press Explain").first).to_be_visible(timeout=LONG)
    click_explain(page)
    expect(page.locator(OVERLAY).first).to_be_visible(timeout=LONG)
    tokens = page.locator('[data-testid="stMarkdownContainer"] span.gb-token')
    expect(tokens.filter(has_text="definitely").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("share of |attribution|").first).to_be_visible()
    expect(page.get_by_text("Image part").first).to_be_visible()
    expect(page.get_by_text("Text part").first).to_be_visible()
    page.get_by_role("button", name="Compute cross-modal view").first.click()
    expect(page.get_by_text("output change when the token is masked").first
           ).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "06_fusion.png")

"""Real browser: review-gpt on the Explain page: type a prompt, see the continuation and the
heatmap, click a generated token and see its row outlined and highlighted over the prompt."""
from __future__ import annotations

import re

import pytest

from tests.e2e.helpers import playwright_api, wait_for_app_idle

pytestmark = pytest.mark.e2e
expect = playwright_api().expect

LONG = 180_000
PROMPT = "the acting is"
HEATMAP = '[data-testid="stPlotlyChart"]:has-text("prompt × continuation")'


def choose(page, name: str) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").first.locator('input[role="combobox"]').click()
    page.get_by_role("option", name=name, exact=True).click()
    card = sidebar.get_by_text(f"{name} ·").or_(sidebar.get_by_text(f"Could not load {name}"))
    expect(card.first).to_be_visible(timeout=LONG)
    if sidebar.get_by_text(f"Could not load {name}").count():
        pytest.fail(f"built-in {name} did not load")
    expect(page.get_by_text("Explain a continuation")).to_be_visible(timeout=LONG)


def save(page, path, width: int = 1400) -> None:
    """The whole page (Streamlit scrolls inside stMain, so the viewport grows first)."""
    wait_for_app_idle(page, LONG)
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(height, 800), 7000)})
    page.wait_for_timeout(1500)  # let Plotly re-layout before the capture
    page.screenshot(path=path)


def small_png(src, dst, width: int = 900, limit: int = 150_000) -> int:
    """The top of a screenshot, scaled to `width` and palette-quantised to stay under `limit`."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    img = img.crop((0, 0, img.width, min(img.height, int(img.width * 1.35))))
    img = img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    for colors in (256, 128, 64):
        img.quantize(colors).save(dst, optimize=True)
        if dst.stat().st_size < limit:
            break
    return dst.stat().st_size


def test_review_gpt_continuation_heatmap_and_clicked_token(pw_browser, streamlit_server,
                                                           artifacts_dir):
    context = pw_browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(streamlit_server)
    wait_for_app_idle(page, LONG)
    choose(page, "review-gpt")
    box = page.get_by_test_id("stTextArea").locator("textarea")
    box.fill(PROMPT)
    box.press("Control+Enter")  # text areas commit on Ctrl+Enter or blur
    shown = page.locator(".gb-continuation").first
    expect(shown).to_contain_text(PROMPT, timeout=LONG)
    continuation = shown.locator("b").inner_text()
    assert continuation.strip(), "review-gpt wrote no continuation"
    # The rerun that showed the continuation may still be drawing the rest of the page; a click
    # that lands on that half-drawn page can be dropped (CI saw it once), so wait for it to end.
    wait_for_app_idle(page, LONG)
    page.get_by_test_id("stButton").get_by_role("button", name="Explain").click()
    heatmap = page.locator(HEATMAP).first
    expect(heatmap.locator("g.heatmaplayer")).to_be_visible(timeout=LONG)
    pills = page.get_by_test_id("stButtonGroup").first.get_by_role("radio")
    expect(pills.first).to_be_visible(timeout=LONG)
    n = pills.count()
    assert n >= 3, f"only {n} generated tokens"
    assert len(re.findall(r"\d+:", heatmap.locator("g.yaxislayer-above").text_content())) == n
    pills.nth(2).click()  # the third generated token
    expect(page.locator('div.gb-row[data-row="2"]').first).to_be_visible(timeout=LONG)
    expect(heatmap).to_contain_text("row 2", timeout=LONG)  # its title names the row ...
    expect(heatmap.locator("g.shapelayer path").first).to_be_attached()  # ... and it is outlined
    expect(pills.nth(2)).to_have_attribute("aria-checked", "true")
    row_tokens = page.locator('div.gb-row[data-row="2"]').first.locator("span.gb-token")
    assert row_tokens.count() == len(page.locator("div.gb-tokens").first.locator(
        "span.gb-token").all())  # one highlight per prompt token
    shot = artifacts_dir / "generation.png"
    save(page, shot)
    size = small_png(shot, artifacts_dir / "generation_small.png")
    assert size < 150_000, size
    context.close()

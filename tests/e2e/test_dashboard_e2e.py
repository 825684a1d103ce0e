"""Real-browser tests: Debian Chromium driven by Playwright against `streamlit run` (one server)."""
from __future__ import annotations

import json
import time

import pytest

from tests.e2e.helpers import doc_screenshot, photo_png, playwright_api, wait_for_app_idle

pytestmark = pytest.mark.e2e
expect = playwright_api().expect
PlaywrightTimeout = playwright_api().TimeoutError

LONG = 180_000  # an explanation on 2 shared CPU cores can take a while
OVERLAY = '[data-testid="stPlotlyChart"] g.heatmaplayer'
TIMINGS: dict[str, float] = {}


def choose_model(page, name: str) -> bool:
    """Pick a model in the sidebar; False (with its error shown) if it does not load yet."""
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSelectbox").first.locator('input[role="combobox"]').click()
    page.get_by_role("option", name=name, exact=True).click()
    card = sidebar.get_by_text(f"{name} ·").or_(sidebar.get_by_text(f"Could not load {name}"))
    expect(card.first).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    return not sidebar.get_by_text(f"Could not load {name}").count()


def need_model(page, name: str) -> None:
    if not choose_model(page, name):
        pytest.fail(f"built-in {name} did not load")


def click_explain(page) -> None:
    wait_for_app_idle(page, LONG)  # a click on a half-drawn rerun can be dropped
    page.get_by_test_id("stButton").get_by_role("button", name="Explain").click()


def save(page, artifacts_dir, name: str, doc: str = "", focus=None) -> None:
    """Screenshot the whole page: Streamlit scrolls inside stMain, so grow the viewport first.
    `doc`: also the window around `focus`, small, for the README (with GLASSBOX_SCREENSHOTS)."""
    wait_for_app_idle(page, LONG)
    if doc:
        page.wait_for_timeout(1000)  # Plotly's last re-layout before a capture that people see
        doc_screenshot(page, doc, focus)
        page.get_by_test_id("stMain").evaluate("el => el.scrollTo(0, 0)")
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 800), 7000)})
    page.wait_for_timeout(1500)  # let Plotly re-layout to the new size before the capture
    page.screenshot(path=artifacts_dir / name)
    page.set_viewport_size(size)


def record(artifacts_dir, **timings: float) -> None:
    TIMINGS.update({k: round(v, 2) for k, v in timings.items()})
    (artifacts_dir / "timings.json").write_text(json.dumps(TIMINGS, indent=1))


def test_first_page_explains_a_digit_then_a_drawing(pw_browser, streamlit_server, artifacts_dir):
    context = pw_browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(streamlit_server)
    expect(page.get_by_test_id("stMain").get_by_text("Predicted").first).to_be_visible(timeout=LONG)
    first_paint = time.perf_counter() - t0
    expect(page.locator(OVERLAY).first).to_be_visible(timeout=LONG)
    first_explanation = time.perf_counter() - t0
    save(page, artifacts_dir, "01_first_page.png", doc="explain.png",
         focus=page.locator(OVERLAY).first)
    t1 = time.perf_counter()
    click_explain(page)
    expect(page.get_by_text("Done:").first).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    cached_repeat = time.perf_counter() - t1
    other = pw_browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    t2 = time.perf_counter()  # a second visitor: the process has the model and results cached
    other.goto(streamlit_server)
    expect(other.get_by_test_id("stMain").get_by_text("Predicted").first).to_be_visible(timeout=LONG)
    warm_paint = time.perf_counter() - t2
    expect(other.locator(OVERLAY).first).to_be_visible(timeout=LONG)
    record(artifacts_dir, first_paint_s=first_paint, first_explanation_s=first_explanation,
           cached_repeat_s=cached_repeat, warm_first_paint_s=warm_paint,
           warm_first_explanation_s=time.perf_counter() - t2)
    other.context.close()
    if page.get_by_text("Draw", exact=True).count():  # a digit model: draw one
        page.get_by_text("Draw", exact=True).click()
        canvas = page.locator("canvas").last
        expect(canvas).to_be_visible(timeout=LONG)
        box = canvas.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, y + box["height"] * 0.7, steps=12)  # a "1"
        page.mouse.up()
        expect(page.get_by_text("Press Explain").first).to_be_visible(timeout=LONG)
        click_explain(page)
        expect(page.locator(OVERLAY).first).to_be_visible(timeout=LONG)
        save(page, artifacts_dir, "02_drawn_digit.png")
    context.close()


def test_tabular_row_edit_gives_waterfall_and_download(page, artifacts_dir):
    need_model(page, "breast-cancer-mlp")
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    wait_for_app_idle(page, LONG)
    editor = page.locator("input.gdg-input")
    for _ in range(4):  # the canvas grid may still be laying out on a busy machine: try again
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 50, box["y"] + 53)  # first data cell (mean radius)
        page.keyboard.press("Enter")  # open the cell editor (glide data grid overlay)
        try:
            editor.wait_for(state="visible", timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    expect(editor).to_be_visible()
    editor.fill("25")
    editor.press("Enter")
    expect(page.get_by_text("(edited)").first).to_be_visible(timeout=LONG)
    click_explain(page)
    expect(page.locator('[data-testid="stPlotlyChart"] g.waterfalllayer').first
           ).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "03_tabular_waterfall.png")
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").get_by_role(
            "button", name="Attributions (JSON)").click()
    target = artifacts_dir / info.value.suggested_filename
    info.value.save_as(target)
    doc = json.loads(target.read_text())
    assert doc["attributions"] and len(doc["attributions"][0]["values"]) == 30
    assert "(edited)" in doc["input"]


def test_sentence_gives_highlighted_tokens_and_attention(page, artifacts_dir):
    transformer = choose_model(page, "sentiment-minilm")
    if not transformer:
        need_model(page, "sentiment-bag")
    area = page.get_by_test_id("stTextArea").locator("textarea")
    area.fill("The acting was wonderful but the plot was painfully dull.")
    area.press("Control+Enter")
    expect(page.get_by_text("Press Explain").first).to_be_visible(timeout=LONG)
    click_explain(page)
    tokens = page.locator('[data-testid="stMarkdownContainer"] span[title]')
    expect(tokens.filter(has_text="wonderful").first).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "04_text_highlight.png", doc="explain-text.png",
         focus=tokens.filter(has_text="wonderful").first)
    if not transformer:
        pytest.fail("sentiment-minilm did not load: attention grid not checked")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Attention").click()
    expect(page.get_by_text("layers x").first).to_be_visible(timeout=LONG)
    expect(page.locator(OVERLAY).first).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "05_attention.png", doc="attention.png",
         focus=page.locator(OVERLAY).first)


def test_uploaded_photo_gets_imagenet_prediction_ig_and_gradcam(page, artifacts_dir, tmp_path):
    need_model(page, "imagenet-efficientnet")
    page.get_by_text("Upload", exact=True).click()
    photo = tmp_path / "cat.png"
    photo.write_bytes(photo_png())
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(photo)
    expect(page.get_by_text("cat", exact=False).first).to_be_visible(timeout=LONG)
    prediction = page.get_by_test_id("stMain").get_by_text("Predicted").first.text_content()
    assert "cat" in prediction.lower(), prediction
    click_explain(page)
    panels = page.get_by_test_id("stMain").get_by_role("heading", level=4)
    expect(panels.filter(has_text="Integrated")).to_have_count(1, timeout=LONG)
    expect(page.locator(OVERLAY)).to_have_count(4, timeout=LONG)  # overlay + raw map, x2
    save(page, artifacts_dir, "06_imagenet_upload.png")


def test_compare_agreement(page, artifacts_dir):
    if not choose_model(page, "mnist-cnn"):
        pytest.fail("mnist-cnn did not load")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
    page.get_by_test_id("stButton").get_by_role("button", name="Compare").click()
    expect(page.get_by_text("Spearman rank correlation").first).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "07_compare.png", doc="compare.png",
         focus=page.get_by_text("Spearman rank correlation").first)
    # the Data set page: tests/e2e/test_dataset_e2e.py

"""Real browser: nothing clipped: Trust's score table, the amount chips, the canvas caption."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import wait_for_app_idle
from tests.e2e.test_dashboard_e2e import LONG, need_model, save

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

OVERFLOW = "el => el.scrollWidth - el.clientWidth"  # > 0: something runs off the right side


def test_trust_score_table_shows_every_column(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    page.get_by_role("link", name="Trust", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("How far to trust each explanation")).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    main.get_by_text("Heavy scores").click()
    wait_for_app_idle(page, LONG)
    main.get_by_role("button", name="Score trust").click()
    table = main.get_by_test_id("stTable").first
    expect(table).to_contain_text("sanity passed", timeout=LONG)
    wait_for_app_idle(page, LONG)
    assert table.locator("table").evaluate(OVERFLOW) <= 0
    assert table.evaluate(OVERFLOW) <= 0
    save(page, artifacts_dir, "12_trust_table.png")


def test_every_amount_chip_is_inside_its_box(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compression").click()
    main = page.get_by_test_id("stMain")
    box = main.get_by_test_id("stMultiSelect").filter(has_text="Amounts (fraction removed)")
    expect(box).to_contain_text("90%", timeout=LONG)
    wait_for_app_idle(page, LONG)
    # in a third of the width the five chips overflowed their container (308 px in 245)
    assert box.get_by_test_id("stMultiSelectTagsContainer").evaluate(OVERFLOW) <= 0
    save(page, artifacts_dir, "13_compression_amounts.png")


def test_canvas_toolbar_leaves_the_caption_readable(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    main = page.get_by_test_id("stMain")
    main.get_by_text("Draw", exact=True).click()
    canvas = main.locator("canvas").last
    expect(canvas).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    c = canvas.bounding_box()
    page.mouse.move(c["x"] + 110, c["y"] + 40)
    page.mouse.down()
    for k in range(20):
        page.mouse.move(c["x"] + 110, c["y"] + 40 + 7 * k)
    page.mouse.up()
    page.mouse.move(c["x"] + 100, c["y"] + 100)  # the toolbar shows while the pointer is over
    undo = main.get_by_role("button", name="Undo")
    expect(undo).to_be_visible(timeout=LONG)
    caption = main.get_by_text("Draw one digit").first.bounding_box()
    assert undo.bounding_box()["y"] >= caption["y"] + caption["height"]
    save(page, artifacts_dir, "14_canvas_caption.png")

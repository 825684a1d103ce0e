"""Real browser: doubts beside the prediction (an input far from the training data, a close
call), and what is compared against (baseline pictures, the sample picked from the list)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.e2e.helpers import png_bytes, wait_for_app_idle
from tests.e2e.test_dashboard_e2e import LONG, need_model, save

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect


def test_grey_gradient_upload_gets_a_far_from_training_notice(page, artifacts_dir, tmp_path):
    need_model(page, "mnist-cnn")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Predicted").first).to_be_visible(timeout=LONG)
    assert not main.get_by_text("looks unlike the data").count()  # a bundled digit
    path = tmp_path / "ramp.png"
    path.write_bytes(png_bytes(np.tile(np.linspace(0, 255, 28), (28, 1)).astype(np.uint8)))
    main.get_by_text("Upload", exact=True).click()
    wait_for_app_idle(page, LONG)
    main.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(path)
    notice = main.get_by_test_id("stAlert").filter(has_text="looks unlike the data mnist-cnn")
    expect(notice.first).to_be_visible(timeout=LONG)
    expect(notice.first).to_contain_text("try an input like the model's samples")
    save(page, artifacts_dir, "15_ood_notice.png")


def test_close_call_and_the_chosen_sample_thumbnail(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Predicted").first).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    combo = main.get_by_test_id("stSelectbox").filter(has_text="Sample").locator(
        'input[role="combobox"]')
    combo.click()
    combo.fill("#187")  # the list is virtual: type to reach an option far down
    page.get_by_role("option", name="#187 · true: 7", exact=True).click()
    expect(main.get_by_text("chosen: #187 · true: 7").first).to_be_visible(timeout=LONG)
    notice = main.get_by_test_id("stAlert").filter(has_text="Close call: '3'")
    expect(notice.first).to_be_visible(timeout=LONG)
    save(page, artifacts_dir, "16_close_call_and_chosen.png")


def test_baseline_explorer_shows_the_baselines(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compare").click()
    main = page.get_by_test_id("stMain")
    for kind in ("black", "blur", "noise"):
        expect(main.get_by_text(f"baseline: {kind}").first).to_be_visible(timeout=LONG)
    pics = main.get_by_test_id("stImage").filter(has_text="baseline: ")
    expect(pics).to_have_count(3)
    save(page, artifacts_dir, "17_baseline_pictures.png")


def test_dataset_predictions_table_has_pictures(page, artifacts_dir):
    from tests.e2e.test_dataset_e2e import run_bundled_job

    run_bundled_job(page)
    main = page.get_by_test_id("stMain")
    main.get_by_text("Predictions", exact=True).click()
    table = main.get_by_test_id("stDataFrame").filter(has_text="picture")
    expect(table.first).to_be_visible(timeout=LONG)
    wait_for_app_idle(page, LONG)
    table.first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # the grid draws its images on a canvas: let them load
    table.first.screenshot(path=artifacts_dir / "18_dataset_table_pictures.png")

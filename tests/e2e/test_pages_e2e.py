"""Real browser: the Compression and Bring-your-own-model pages run end to end (README pictures)."""
from __future__ import annotations

import pytest

from tests.e2e.helpers import playwright_api
from tests.e2e.test_dashboard_e2e import LONG, need_model, save

pytestmark = pytest.mark.e2e
expect = playwright_api().expect


def test_compression_prunes_and_draws_accuracy_and_drift(page, artifacts_dir):
    need_model(page, "mnist-cnn")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Compression").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Compression lab").first).to_be_visible(timeout=LONG)
    main.get_by_test_id("stButton").get_by_role("button", name="Run").click()
    expect(main.get_by_text("The same input, before and after").first).to_be_visible(timeout=LONG)
    charts = main.locator('[data-testid="stPlotlyChart"]')
    expect(charts.first).to_be_visible(timeout=LONG)
    assert "sparsity" in charts.first.text_content()
    assert not main.get_by_test_id("stException").count()
    save(page, artifacts_dir, "09_compression.png", doc="compression.png",
         focus=main.get_by_test_id("stDataFrame").first)


def test_own_exported_model_loads_with_its_preflight_table(page, artifacts_dir, tmp_path):
    import torch

    from tests.models.user_fixtures import tiny_cnn

    path = tmp_path / "my-tiny-cnn.pt2"
    torch.export.save(torch.export.export(tiny_cnn().eval(), (torch.zeros(1, 1, 8, 8),)), path)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Bring your own model").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Bring your own model").first).to_be_visible(timeout=LONG)
    main.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(path)
    main.get_by_role("button", name="Load and check").click()
    expect(main.get_by_text("Registered my-tiny-cnn").first).to_be_visible(timeout=LONG)
    expect(main.get_by_test_id("stTable").first).to_be_visible(timeout=LONG)
    assert not main.get_by_test_id("stException").count()
    save(page, artifacts_dir, "10_byom.png", doc="byom.png")

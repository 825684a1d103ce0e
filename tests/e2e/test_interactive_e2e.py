"""Real browser: the Explain page shows a first map at once and refines it while the user
watches (adaptive IG's delta shrinking), Cancel stops a long run and keeps what was shown, and
the seconds from Explain to the first map per image and text built-in (in timings.json)."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from tests.e2e.helpers import png_bytes, wait_for_app_idle
from tests.e2e.test_dashboard_e2e import LONG, OVERLAY, choose_model, click_explain, record, save

pytestmark = pytest.mark.e2e
expect = pytest.importorskip("playwright.sync_api").expect

TOKENS = '[data-testid="stMarkdownContainer"] span.gb-token'
FIRST_MAP = f"{OVERLAY}, {TOKENS}"
REFINING = re.compile(r"refining: (\d+) steps, \|delta\| ([\d.]+)%")
KEPT = re.compile(r"adaptive: (\d+) steps, \|delta\| ([\d.]+)%")


def noisy_cat(seed: int) -> bytes:
    """The bundled cat photo with a little seeded noise: a new input (no cached result)."""
    from skimage import data

    rng = np.random.default_rng(seed)
    img = data.chelsea().astype(np.int16) + rng.integers(-3, 4, (300, 451, 3))
    return png_bytes(np.clip(img, 0, 255).astype(np.uint8))


def digit(seed: int) -> bytes:
    """A thick '7' with seeded noise, 28x28."""
    rng = np.random.default_rng(seed)
    img = np.zeros((28, 28), np.float64)
    img[5:9, 6:22] = 255
    for r in range(9, 24):
        c = 21 - (r - 9) // 2
        img[r, c - 2:c + 2] = 255
    img = np.clip(img + rng.normal(0, 10, img.shape), 0, 255)
    return png_bytes(img.astype(np.uint8))


def upload(page, tmp_path, name: str, data: bytes) -> None:
    page.get_by_text("Upload", exact=True).click()
    path = tmp_path / name
    path.write_bytes(data)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(path)
    expect(page.get_by_text("Press Explain").first).to_be_visible(timeout=LONG)


def type_text(page, text: str) -> None:
    area = page.get_by_test_id("stTextArea").locator("textarea")
    area.fill(text)
    area.press("Control+Enter")
    expect(page.get_by_text("Press Explain").first).to_be_visible(timeout=LONG)


def fresh_input(page, tmp_path, model: str, seed: int) -> None:
    """A new input of the model's kind, so nothing comes from the cache."""
    if model == "imagenet-efficientnet":
        upload(page, tmp_path, f"cat{seed}.png", noisy_cat(seed))
    elif model == "mnist-cnn":
        upload(page, tmp_path, f"seven{seed}.png", digit(seed))
    else:
        type_text(page, f"Run {seed}: the acting was wonderful but the plot dragged badly.")


def need(page, model: str) -> None:
    if not choose_model(page, model):
        pytest.fail(f"built-in {model} did not load")
    wait_for_app_idle(page, LONG)


def set_steps(page, value: int) -> None:
    main = page.get_by_test_id("stMain")
    main.get_by_text("Method parameters").click()
    steps = main.get_by_test_id("stNumberInput").filter(has_text="n_steps").locator("input").first
    steps.fill(str(value))
    steps.press("Enter")
    expect(steps).to_have_value(str(value))
    wait_for_app_idle(page, LONG)


@pytest.mark.parametrize("model", ["mnist-cnn", "imagenet-efficientnet", "sentiment-minilm",
                                   "sentiment-bag"])
def test_seconds_to_the_first_map(page, artifacts_dir, tmp_path, model):
    need(page, model)
    fresh_input(page, tmp_path, model, seed=1)
    wait_for_app_idle(page, LONG)
    start = time.perf_counter()
    click_explain(page)
    page.locator(FIRST_MAP).first.wait_for(state="visible", timeout=LONG)
    first = time.perf_counter() - start
    save(page, artifacts_dir, f"20_first_map_{model}.png")
    expect(page.get_by_text("Done:").first).to_be_visible(timeout=LONG)
    record(artifacts_dir, **{f"first_map_{model}_s": first,
                             f"final_map_{model}_s": time.perf_counter() - start})
    print(f"{model}: first map {first:.2f} s after Explain")


def test_refinement_shows_a_first_map_then_a_smaller_delta(page, artifacts_dir, tmp_path):
    need(page, "imagenet-efficientnet")
    fresh_input(page, tmp_path, "imagenet-efficientnet", seed=2)
    set_steps(page, 32)
    click_explain(page)
    main = page.get_by_test_id("stMain")
    coarse = main.get_by_test_id("stCaptionContainer").filter(has_text=REFINING).first
    expect(coarse).to_be_visible(timeout=LONG)
    first_steps, first_rel = REFINING.search(coarse.text_content()).groups()
    assert int(first_steps) == 8  # the coarse pass comes first, drawn with its map
    expect(main.locator(OVERLAY).first).to_be_visible()
    page.screenshot(path=artifacts_dir / "21_refining.png")  # now, mid-run (save() waits)
    kept = main.get_by_test_id("stCaptionContainer").filter(has_text=KEPT).first
    expect(kept).to_be_visible(timeout=LONG)
    steps, rel = KEPT.search(kept.text_content()).groups()
    assert int(steps) > 8 and float(rel) < float(first_rel), (steps, rel, first_rel)
    save(page, artifacts_dir, "22_refined.png")


def test_cancel_stops_the_run_and_keeps_the_earlier_map(page, artifacts_dir, tmp_path):
    need(page, "imagenet-efficientnet")
    fresh_input(page, tmp_path, "imagenet-efficientnet", seed=3)
    set_steps(page, 400)  # a long adaptive IG (up to 400 steps) after Grad-CAM
    click_explain(page)
    main = page.get_by_test_id("stMain")
    expect(main.locator(OVERLAY).first).to_be_visible(timeout=LONG)  # Grad-CAM, at once
    expect(main.get_by_text("Integrated gradients (2/2)").first).to_be_visible(timeout=LONG)
    start = time.perf_counter()
    main.get_by_role("button", name="Cancel").click()
    expect(main.get_by_text("Cancelled:").first).to_be_visible(timeout=LONG)
    record(artifacts_dir, cancel_notice_s=time.perf_counter() - start)
    wait_for_app_idle(page, LONG)
    headings = main.get_by_role("heading", level=4)
    expect(headings.filter(has_text="Grad-CAM")).to_have_count(1)
    expect(main.locator(OVERLAY).first).to_be_visible()  # the earlier result is still there
    expect(main.get_by_text("not computed (the run stopped before it)").first).to_be_visible()
    expect(main.get_by_text("Done:")).to_have_count(0)
    save(page, artifacts_dir, "23_cancelled.png")

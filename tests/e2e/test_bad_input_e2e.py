"""Real uploads of bad files in Chromium (a few from tests/bad_inputs.py): the one-line message
appears where the file was dropped, no exception box, and the prediction and explanation of the
last good file stay on the page."""
from __future__ import annotations

import pytest

from tests.bad_inputs import BY_ID, csv_bytes, digit, table_rows
from tests.e2e.helpers import playwright_api, wait_for_app_idle
from tests.e2e.test_dashboard_e2e import LONG, OVERLAY, click_explain, need_model, save

pytestmark = pytest.mark.e2e
expect = playwright_api().expect


def upload(page, tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    wait_for_app_idle(page, LONG)
    page.get_by_test_id("stMain").get_by_test_id("stFileUploaderDropzoneInput").first \
        .set_input_files(path)


def alert(page, text: str):
    return page.get_by_test_id("stMain").get_by_test_id("stAlert").filter(has_text=text).first


def no_exception(page) -> None:
    assert not page.get_by_test_id("stException").count()
    assert "Traceback" not in page.get_by_test_id("stMain").text_content()


def test_bomb_and_16_bit_png(page, tmp_path, artifacts_dir):
    from tests.bad_inputs import _save

    page.get_by_test_id("stMain").get_by_text("Upload", exact=True).click()
    upload(page, tmp_path, "good.png", _save(digit().rotate(90), "PNG"))
    expect(page.get_by_text("good.png: what the model sees").first).to_be_visible(timeout=LONG)
    click_explain(page)
    expect(page.locator(OVERLAY).first).to_be_visible(timeout=LONG)
    upload(page, tmp_path, "bomb.png", BY_ID["decompression-bomb"].data)
    expect(alert(page, "decompression bomb")).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Still showing the last good input").first).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_text("Predicted").first).to_be_visible()
    expect(page.locator(OVERLAY).first).to_be_visible()  # the earlier explanation stays
    no_exception(page)
    save(page, artifacts_dir, "bad_input_bomb.png")
    upload(page, tmp_path, "grey16.png", BY_ID["16-bit"].data)
    expect(alert(page, "16-bit greyscale scaled to 8 bits")).to_be_visible(timeout=LONG)
    expect(page.get_by_text("grey16.png: what the model sees").first).to_be_visible(timeout=LONG)
    no_exception(page)
    save(page, artifacts_dir, "bad_input_16bit.png")


def test_non_utf8_text_file_keeps_the_text_box(page, tmp_path, artifacts_dir):
    need_model(page, "sentiment-bag")
    upload(page, tmp_path, "good.txt", b"a warm and wonderful film")
    box = page.get_by_test_id("stTextArea").locator("textarea").first
    expect(box).to_have_value("a warm and wonderful film", timeout=LONG)
    upload(page, tmp_path, "latin1.txt", BY_ID["non-utf8"].data)
    expect(alert(page, "is not UTF-8 text (byte 0xe8")).to_be_visible(timeout=LONG)
    expect(box).to_have_value("a warm and wonderful film")  # the box and its text stay
    expect(page.get_by_test_id("stMain").get_by_text("Predicted").first).to_be_visible()
    no_exception(page)
    save(page, artifacts_dir, "bad_input_non_utf8.png")


def test_bad_csv_names_the_cell_and_keeps_the_row(page, tmp_path, artifacts_dir):
    need_model(page, "breast-cancer-mlp")
    page.get_by_test_id("stMain").get_by_text("Upload CSV", exact=True).click()
    names, rows = table_rows(2)
    upload(page, tmp_path, "good.csv", csv_bytes(names, rows[1:]))
    expect(page.get_by_text("good.csv row 0").first).to_be_visible(timeout=LONG)
    upload(page, tmp_path, "words.csv", BY_ID["string-cell"].data)
    expect(alert(page, "could not convert 'twelve' to a number in column 'mean area'")
           ).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Still showing the last good input: good.csv row 0").first
           ).to_be_visible()
    upload(page, tmp_path, "upper.csv", BY_ID["renamed-columns"].data)
    expect(alert(page, "did you mean 'mean radius' for 'MEAN RADIUS'")).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stMain").get_by_text("Predicted").first).to_be_visible()
    no_exception(page)
    save(page, artifacts_dir, "bad_input_csv.png")

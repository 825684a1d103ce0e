"""AppTest: the Explain page with stand-in models (fast): inputs, prediction, methods, errors."""
from __future__ import annotations

import io

import numpy as np
import torch

from dashboard import state
from tests.dashboard.helpers import decode, errors, figures, start, traces
from tests.e2e.helpers import png_bytes


def test_first_page_predicts_and_explains_default_sample(stubs):
    at = start("stub-image")
    model = stubs["stub-image"]
    raw, _ = model.samples()[0]
    probs = model.predict(raw)
    bar = figures(at)[0]["data"][0]
    assert bar["type"] == "bar"
    shown = np.asarray(decode(bar["x"]), float)
    np.testing.assert_allclose(np.sort(shown)[::-1], np.sort(probs)[::-1][:5], rtol=1e-6)
    items = dict(at.session_state[state.RESULTS]["items"])
    assert set(items) == {"stub_grad", "stub_abs"}  # the defaults ran by themselves once
    # the overlay's heatmap is the attribution itself: input x gradient for the predicted class
    x = model.preprocess(raw).requires_grad_(True)
    model.forward(x)[0, int(probs.argmax())].backward()
    expected = (x * x.grad)[0, 0].detach().numpy()
    heat = decode(traces(at, "heatmap")[0]["z"])
    np.testing.assert_allclose(heat, expected, rtol=1e-5, atol=1e-7)
    assert not errors(at)
    assert at.download_button(key="explain::dl_json").label == "Attributions (JSON)"
    # a failing method shows one line in its own panel; the rest of the page works
    at.multiselect(key="methods::stub-image").set_value(["stub_grad", "stub_fail"])
    at.button(key=state.RUN).click().run()
    assert not at.exception
    assert len(traces(at, "heatmap")) == 2  # stub_grad's overlay and raw map are still there
    assert errors(at) == ["Stub failure failed: stub_fail cannot explain this input (on purpose)"]
    assert at.download_button(key="explain::dl_json").label == "Attributions (JSON)"


def test_params_and_target_reach_the_method_and_repeat_is_cached(stubs):
    at = start("stub-image")
    at.multiselect(key="methods::stub-image").set_value(["stub_grad"])
    at.number_input(key="param::stub_grad::scale").set_value(2.0)
    at.selectbox(key=state.TARGET).set_value(3)
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    (name, a), = at.session_state[state.RESULTS]["items"]
    assert a.target == 3 and a.params["scale"] == 2.0
    first = at.session_state[state.WALL]["stub_grad"]
    at.button(key=state.RUN).click().run()
    (_, b), = at.session_state[state.RESULTS]["items"]
    np.testing.assert_array_equal(a.values, b.values)
    assert at.session_state[state.WALL]["stub_grad"] < max(first, 0.05)  # cache hit


def test_upload_image_and_bad_upload(stubs):
    at = start("stub-image")
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    img = np.zeros((40, 30, 3), np.uint8)
    img[10:30, 12:18] = 255
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("bar.png", png_bytes(img), "image/png")
    at.run()
    assert not at.exception and not at.error
    assert "bar.png" in at.session_state[state.CURRENT]["label"]
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("bad.png", b"not an image", "image/png")
    at.run()
    assert not at.exception
    assert errors(at) == ["could not read 'bad.png' as an image (not an image this reader knows; "
                          "use PNG, JPEG, WebP, BMP, GIF or TIFF)"]
    assert "bar.png" in at.session_state[state.CURRENT]["label"]  # the good upload stays
    assert at.sidebar.selectbox(key=state.MODEL).value == "stub-image"  # sidebar still there


def test_gif_first_frame_and_webp_upload(stubs):
    from PIL import Image

    at = start("stub-image")
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    frames = [Image.new("RGB", (28, 28), c) for c in ((255, 255, 255), (0, 0, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("anim.gif", buf.getvalue(), "image/gif")
    at.run()
    assert not at.exception and not at.error
    model = stubs["stub-image"]
    white = model.predict(np.full((28, 28, 3), 255, np.uint8))
    shown = np.sort(np.asarray(decode(figures(at)[0]["data"][0]["x"]), float))[::-1]
    np.testing.assert_allclose(shown, np.sort(white)[::-1][:5], rtol=1e-5)


def test_text_typing_and_empty_text(stubs):
    at = start("stub-text")
    at.multiselect(key="methods::stub-text").set_value(["stub_tokens"])
    at.text_area(key=state.TEXT).input("a great film").run()
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    (_, a), = at.session_state[state.RESULTS]["items"]
    assert a.units == ("[CLS]", "a", "great", "film", "[SEP]")
    html = [m.value for m in at.markdown if "<span" in m.value]
    assert html and "great" in html[0]
    at.text_area(key=state.TEXT).input("   ").run()
    assert not at.exception
    assert errors(at) == ["the text is empty: type or paste a sentence"]


def test_example_sentence_click_sets_text(stubs):
    at = start("stub-text")
    at.button(key="example::1").click().run()
    assert at.text_area(key=state.TEXT).value == "an awful film"


def test_table_edit_row_updates_prediction_and_waterfall(stubs):
    at = start("stub-table")
    model = stubs["stub-table"]
    editor_key = state.widget_key(state.TABLE_EDITOR, "stub-table", "sample:0")
    at.session_state[editor_key] = {"edited_rows": {0: {"b": 7.5}}, "added_rows": [],
                                    "deleted_rows": []}
    at.run()
    assert not at.exception and not at.error
    row = {"a": 0.0, "b": 7.5, "c": -1.0}
    assert "(edited)" in at.session_state[state.CURRENT]["label"]
    at.multiselect(key="methods::stub-table").set_value(["stub_grad"])
    at.button(key=state.RUN).click().run()
    (w,) = traces(at, "waterfall")
    x = torch.tensor([[row["a"], row["b"], row["c"]]], requires_grad=True)
    target = int(model.predict(row).argmax())
    model.forward(x)[0, target].backward()
    expected = (x * x.grad)[0].detach().numpy()
    np.testing.assert_allclose(sorted(decode(w["x"])), sorted(expected), rtol=1e-5, atol=1e-7)


def test_csv_with_wrong_columns_shows_one_error(stubs):
    at = start("stub-table")
    at.radio(key=state.TABLE_SOURCE).set_value("Upload CSV").run()
    at.file_uploader(key=state.CSV_UPLOAD).upload("rows.csv", b"a,x\n1,2\n", "text/csv").run()
    assert not at.exception
    (msg,) = errors(at)
    assert "'rows.csv' lacks 2 of the model's 3 feature column(s): 'b', 'c'" in msg
    good = b"a,b,c\n1,2,3\n4,5,6\n"
    at.file_uploader(key=state.CSV_UPLOAD).upload("rows.csv", good, "text/csv").run()
    at.number_input(key=state.CSV_ROW).set_value(1).run()
    assert not at.exception and not at.error
    assert at.session_state[state.CURRENT]["label"] == "rows.csv row 1"


def test_text_file_upload_fills_the_box_and_bad_bytes_error(stubs):
    at = start("stub-text")
    at.file_uploader(key=state.TEXT_UPLOAD).upload("r.txt", b"the great film", "text/plain").run()
    assert not at.exception and not at.error
    assert at.text_area(key=state.TEXT).value == "the great film"
    at.file_uploader(key=state.TEXT_UPLOAD).upload("bin.txt", b"\xff\xfe\xfa", "text/plain").run()
    assert not at.exception
    assert errors(at) == ["'bin.txt' is not UTF-8 text (byte 0xff at position 0); save it as "
                          "UTF-8 and try again"]
    assert at.text_area(key=state.TEXT).value == "the great film"  # the box and its text stay


def test_oversized_input_upload_is_refused_in_one_line(stubs, monkeypatch):
    """Streamlit's cap is sized for model archives; input files have their own, smaller one."""
    from dashboard import inputs

    monkeypatch.setattr(inputs, "MAX_INPUT_MB", 0.001)  # 1 kB, so a small PNG is over it
    at = start("stub-image")
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    data = png_bytes(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("big.png", data, "image/png").run()
    assert not at.exception
    assert errors(at) == [f"'big.png' is {len(data) / 1e6:.1f} MB; inputs are limited to "
                          "0.001 MB (GLASSBOX_MAX_INPUT_MB)"]

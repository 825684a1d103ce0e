"""Misbehaving user models on the dashboard: one line where the prediction would be, on the
Explain, Compare and Trust pages; the sidebar and the other models keep working."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard import state
from tests.dashboard.helpers import start
from tests.e2e.helpers import png_bytes
from tests.explainers.test_bad_input_corpus import observe
from tests.explainers.test_misbehaving_models import SAYS
from tests.models.misbehaving import HOW, save_misbehaving


@pytest.mark.parametrize("how", HOW)
def test_one_line_in_place_and_other_models_keep_working(how, tmp_path):
    name = f"bad-{how}"
    path = str(save_misbehaving(tmp_path, how))  # the sidebar's key for a user model
    at = start(path, **{state.USER_MODELS: {name: path}})
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    bright = png_bytes(np.full((8, 8), 255, np.uint8))
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("bright.png", bright, "image/png").run()
    assert not at.exception, at.exception
    (line,) = [e.value for e in at.error]
    assert SAYS[how] in line and "\n" not in line
    observe(f"model: forward {how}", "dashboard", "error in place", line)
    for page in ("app_pages/compare.py", "app_pages/trust.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert [e.value for e in at.error] == [line], page
    at.switch_page("app_pages/explain.py").run()
    at.sidebar.selectbox(key=state.MODEL).set_value("mnist-cnn").run()
    at.radio(key=state.IMAGE_SOURCE).set_value("Sample").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart")  # the built-in model predicts as before

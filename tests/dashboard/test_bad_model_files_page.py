"""Bad model files on the Bring-your-own-model page: one line in place, nothing registered,
the page still takes the next file (the same files as the CLI rows, test_bad_input_corpus)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.explainers.test_bad_input_corpus import MODEL_FILES, _model_files, observe

PAGE = str(Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "byom.py")


@pytest.mark.parametrize("kind", list(MODEL_FILES))
def test_bad_model_file_is_one_line_on_the_page(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_USER_MODEL_DIR", str(tmp_path / "store"))
    path = _model_files(tmp_path)[kind]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.file_uploader(key="byom_upload").upload(path.name, path.read_bytes(),
                                               "application/octet-stream")
    sidecar = path.with_suffix(".json")
    at.file_uploader(key="byom_sidecar").upload(sidecar.name, sidecar.read_bytes(),
                                                "application/json")
    at.run()
    at.button(key="byom_load").click().run()
    assert not at.exception, at.exception
    (line,) = [e.value for e in at.error]
    assert "\n" not in line and MODEL_FILES[kind] in line, line
    assert "user_models" not in at.session_state
    observe(f"model file: {kind}", "dashboard", "error in place", line)

"""The bring-your-own-model page: upload, preflight table, session registration, refusals."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.models.user_fixtures import IMAGE_SIDECAR, tiny_cnn

PAGE = str(Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "byom.py")


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_USER_MODEL_DIR", str(tmp_path / "store"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def _bytes(save) -> bytes:
    buf = io.BytesIO()
    save(buf)
    return buf.getvalue()


@pytest.mark.slow
def test_upload_torchscript_with_sidecar_registers_it(page, tmp_path):
    data = _bytes(lambda b: torch.jit.save(torch.jit.script(tiny_cnn()), b))
    assert any("carry code from their author" in w.value for w in page.warning)
    page.file_uploader(key="byom_upload").upload("cnn.ts", data, "application/octet-stream")
    page.file_uploader(key="byom_sidecar").upload(
        "cnn.json", json.dumps({**IMAGE_SIDECAR, "name": "my-cnn"}).encode(), "application/json")
    page.run()
    page.button(key="byom_load").click().run()
    assert not page.exception
    models = page.session_state["user_models"]
    assert list(models) == ["my-cnn"] and Path(models["my-cnn"]).read_bytes() == data
    assert not page.dataframe  # a static table: each reason wraps instead of being cut off
    table = page.table[0].value
    verdict = dict(zip(table["method"], table["works"], strict=True))
    assert verdict["deeplift"] == "no" and verdict["saliency"] == "yes"


@pytest.mark.slow
def test_pickled_model_is_refused_on_the_page(page):
    data = _bytes(lambda b: torch.save(tiny_cnn(), b))
    page.file_uploader(key="byom_upload").upload("model.pt", data, "application/octet-stream")
    page.run()
    page.button(key="byom_load").click().run()
    assert not page.exception
    assert any("pickle" in e.value for e in page.error)
    assert "user_models" not in page.session_state

"""Upload limits in the page: an oversized sidecar or input is refused in one line that names the limit."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

BYOM = str(Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "byom.py")


def test_oversized_sidecar_is_refused_with_its_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSBOX_USER_MODEL_DIR", str(tmp_path / "store"))
    at = AppTest.from_file(BYOM, default_timeout=60)
    at.run()
    at.file_uploader(key="byom_upload").upload("m.safetensors", b"\0" * 64, "application/octet-stream")
    big = b'{"name": "x", "description": "' + b"a" * (2 << 20) + b'"}'
    at.file_uploader(key="byom_sidecar").upload("side.json", big, "application/json")
    at.run()
    at.button(key="byom_load").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0], errors
    assert "side.json is 2.0 MB; a sidecar is limited to 1 MB" in errors[0]
    assert not list((tmp_path / "store").glob("**/*"))  # nothing was saved


def test_oversized_input_image_is_refused_with_its_limit(monkeypatch):
    from dashboard import inputs
    from models import InputError

    monkeypatch.setattr(inputs, "MAX_INPUT_MB", 0.5)
    with pytest.raises(InputError) as exc:
        inputs.read_image(b"\x89PNG" + b"\0" * 600_000, "big.png")
    assert str(exc.value) == ("'big.png' is 0.6 MB; inputs are limited to 0.5 MB "
                              "(GLASSBOX_MAX_INPUT_MB)")

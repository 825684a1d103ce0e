"""Helpers shared by the browser tests and the fixtures in tests/conftest.py."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image


def browser_required() -> bool:
    """CI or E2E_REQUIRED=1: a missing browser or playwright fails instead of skipping."""
    return os.environ.get("E2E_REQUIRED") == "1" or os.environ.get("CI", "").lower() == "true"


def playwright_api():
    """playwright.sync_api; without the package the module skips locally and FAILS under
    CI=true or E2E_REQUIRED=1 (pytest.importorskip skipped it even in CI)."""
    import pytest

    try:
        import playwright.sync_api as api
    except ImportError:
        msg = "the playwright package is not installed (pip install playwright==1.65.2)"
        if browser_required():
            pytest.fail(f"{msg} (required: E2E_REQUIRED=1 or CI=true)", pytrace=False)
        pytest.skip(msg, allow_module_level=True)
    return api


def wait_for_app_idle(pg, timeout: float = 60_000) -> None:
    """Connected websocket + script finished. After an interaction, prefer waiting for the
    expected DOM change (the rerun may not have started yet)."""
    pg.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
        '[data-test-script-state="notRunning"]',
        timeout=timeout,
    )


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def photo_png() -> bytes:
    """A real photo (scikit-image's cat, bundled offline) as PNG bytes."""
    from skimage import data

    return png_bytes(data.chelsea())


DOC_WIDTH, DOC_COLOURS = 960, 96  # docs/screenshots: small PNGs (< 150 KB each) for the README


def doc_screenshot(pg, name: str, focus=None) -> Path | None:
    """With GLASSBOX_SCREENSHOTS=DIR set, save what the viewport shows, downscaled, as DIR/name.
    `focus`: a locator scrolled to the middle of the window first (the part worth showing)."""
    folder = os.environ.get("GLASSBOX_SCREENSHOTS")
    if not folder:
        return None
    if focus is not None:
        focus.evaluate("el => el.scrollIntoView({block: 'center'})")
        pg.wait_for_timeout(800)
    img = Image.open(io.BytesIO(pg.screenshot())).convert("RGB")
    img = img.resize((DOC_WIDTH, round(img.height * DOC_WIDTH / img.width)), Image.LANCZOS)
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    img.quantize(colors=DOC_COLOURS, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path

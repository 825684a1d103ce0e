"""The Explain page driven headless (streamlit's AppTest, in this process): for bench/ scripts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dashboard import state

APP = Path(__file__).resolve().parent / "app.py"


def start(timeout: float = 120) -> Any:
    """The app's first page, run once (the built-in default model, its first sample explained)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    if at.exception:
        raise RuntimeError(f"the app raised: {at.exception[0].message}")
    return at


def press(at: Any, i: int) -> int:
    """Pick bundled sample i, press Explain; the number of method results on the page."""
    at.selectbox(key=state.IMAGE_SAMPLE).set_value(i).run()
    at.button(key=state.RUN).click().run()
    if at.exception:
        raise RuntimeError(f"press {i}: {at.exception[0].message}")
    results = at.session_state[state.RESULTS]
    if any(isinstance(a, str) for _, a in results["items"]):
        raise RuntimeError(f"press {i}: a method failed: {results['items']}")
    return len(results["items"])

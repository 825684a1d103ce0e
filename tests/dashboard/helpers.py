"""Helpers for AppTest tests: start the app, read Plotly figure JSON (typed arrays decoded)."""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.dashboard.conftest import APP


def decode(v: Any) -> Any:
    """Plotly's typed-array JSON ({"dtype", "bdata", "shape"}) -> numpy; lists unchanged."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        if "shape" in v:
            arr = arr.reshape([int(s) for s in str(v["shape"]).split(",")])
        return arr
    return v


def figures(at: AppTest) -> list[dict]:
    """Every Plotly figure on the page, as its JSON spec."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def traces(at: AppTest, kind: str) -> list[dict]:
    """All traces of one type (e.g. 'heatmap', 'waterfall') across the page's figures."""
    return [t for f in figures(at) for t in f["data"] if t.get("type") == kind]


def start(model: str, page: str | None = None, timeout: float = 120, **session: Any) -> AppTest:
    """Run the app with `model` chosen (and optional session values), on `page`."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state[state.MODEL] = model
    for k, v in session.items():
        at.session_state[k] = v
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]

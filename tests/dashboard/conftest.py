"""AppTest fixtures: the app path, stand-in models/methods, and a cold cache per test."""
from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from explainers.bounded import clear_all

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def cold_cache():
    st.cache_data.clear()
    clear_all()  # dashboard caches (explainers.bounded.memo)
    yield


@pytest.fixture
def stubs(monkeypatch):
    """Swap the model list and method registry for the tiny stand-ins in stubs.py."""
    from dashboard import cache, runner
    from explainers import base
    from tests.dashboard.stubs import METHODS, MODELS

    instances = {name: cls() for name, cls in MODELS.items()}
    methods = {cls.name: cls() for cls in METHODS}
    monkeypatch.setattr(cache, "model_names", lambda: list(instances))
    monkeypatch.setattr(cache, "get_model", lambda name: instances[name])
    monkeypatch.setattr(cache, "get_samples", lambda name, n=None: instances[name].samples(n))
    monkeypatch.setattr(base, "REGISTRY", methods)
    monkeypatch.setattr(base, "_load_methods", lambda: None)
    monkeypatch.setattr(runner, "list_methods",
                        lambda m: [k for k, v in methods.items() if v.supports(m)])
    return instances

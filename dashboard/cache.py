"""Process-wide caches: models by plain name (cache_resource), results by plain keys (cache_data)."""
from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st
import torch

import explainers
from models import InputError, ModelAdapter, list_models, load_model

Progress = Callable[[int, int], Any]


def model_names() -> list[str]:
    """Built-in model names, in display order."""
    return list_models()


_LOAD_KEYS: dict[int, str] = {}  # id(adapter) -> the name or path it was loaded by


@st.cache_resource(show_spinner=False, max_entries=8)
def get_model(name: str) -> ModelAdapter:
    """Load a model (built-in name or user path) once per server process; sessions share it."""
    model = load_model(name)
    _LOAD_KEYS[id(model)] = name
    return model


def key(model: ModelAdapter) -> str:
    """The plain cache key of a loaded model: the name or path it was loaded by."""
    return _LOAD_KEYS.get(id(model), model.info.name)


@st.cache_resource(show_spinner=False, max_entries=8)
def get_samples(name: str, n: int | None = None) -> list[tuple[Any, int]]:
    """The model's bundled held-out samples (read-only; shared by sessions)."""
    model = get_model(name)
    if not hasattr(model, "samples"):
        return []
    return list(model.samples(n, 0))


@st.cache_data(show_spinner=False, max_entries=1024)
def predict(model_name: str, input_key: str, _raw: Any) -> np.ndarray:
    """Class probabilities for one input, keyed by model name and input hash."""
    return np.asarray(get_model(model_name).predict(_raw), dtype=float)


@st.cache_data(show_spinner=False, max_entries=256)
def explain(model_name: str, input_key: str, method: str, target: int | None,
            params_json: str, _raw: Any, _progress: Progress | None = None
            ) -> explainers.Attribution:
    """One explanation, keyed by (model, input hash, method, target, params JSON)."""
    params = passable(method, json.loads(params_json))
    if _progress is not None:
        params["progress"] = _progress
    return explainers.explain(get_model(model_name), _raw, method, target=target, **params)


CLASHES = ("model", "raw", "method", "target")  # explain()'s own argument names


def passable(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters explain() can take: one named like its own arguments is left to its default.

    (IG's integration rule is a Param named "method", which explain(model, raw, method, ...)
    cannot receive as a keyword; a non-default value is reported instead of crashing.)
    """
    defaults = {p.name: p.default for p in explainers.get_method(method).params}
    out = {}
    for name, value in params.items():
        if name not in CLASHES:
            out[name] = value
        elif value != defaults.get(name):
            raise InputError(f"parameter {name!r} of {method} cannot be changed from "
                             f"{defaults.get(name)!r} here yet (it shares explain()'s "
                             f"argument name)")
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def attention(model_name: str, input_key: str, _raw: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Attention weights [layers, heads, T, T] and the tokens, for a transformer model."""
    model = get_model(model_name)
    with model.lock, torch.no_grad():
        x = model.preprocess(_raw)
        weights = model.attention(x)
    return weights.detach().float().cpu().numpy(), tuple(model.tokens(_raw))


def ui_progress(bar: Any, start: float, span: float, text: str) -> Progress:
    """A progress callback that moves `bar` from `start` to `start + span`.

    Cached functions record the st.* calls made inside them for replay; the callback runs
    inside one, so it updates the bar in the context captured here (outside the cache),
    which keeps the update out of the replay record.
    """
    ctx = contextvars.copy_context()

    def update(done: int, total: int) -> None:
        frac = start + span * (done / total if total else 1.0)
        ctx.run(bar.progress, min(max(frac, 0.0), 1.0), text=text)

    return update

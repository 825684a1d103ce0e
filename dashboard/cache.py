"""Process-wide caches bounded by entries and bytes (explainers.bounded.memo): models, results.

Models kept for a session (compressed copies) cannot be loaded by name and a cache key must be a
plain value, so they travel as a plain key "kept:<sha256 of the weights>": `register` puts
the adapter in a per-process weak registry under that key, and `resolve` (used by every cached
function) looks a key up in this session's kept models first, then the registry, then loads a
built-in name or user path. The sha256 in the key keeps sessions' same-named copies apart and
lets identical weights share cached results.
"""
from __future__ import annotations

import contextvars
import json
import os
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st
import torch

import explainers
from dashboard import state
from explainers.bounded import memo
from models import InputError, ModelAdapter, list_models, load_model
from models.base import HasImage, HasSamples, IsCompressed

Progress = Callable[[int, int], Any]

# Every cache is bounded by entries AND bytes (explainers.bounded: least recently used goes
# first); the byte bounds of the two big ones can be set: explanations (GLASSBOX_CACHE_MB; 0 =
# keep none, every explanation is computed) and models (GLASSBOX_MODEL_CACHE_MB).
RESULTS_MB = float(os.environ.get("GLASSBOX_CACHE_MB", 256))
MODELS_MB = float(os.environ.get("GLASSBOX_MODEL_CACHE_MB", 4096))


def model_names() -> list[str]:
    """Built-in model names, in display order."""
    return list_models()


_LOAD_KEYS: dict[int, str] = {}  # id(adapter) -> the name or path it was loaded by (cached ones)


def _forget(model: ModelAdapter) -> None:
    _LOAD_KEYS.pop(id(model), None)  # an evicted model's id may be reused by a new object


@memo(max_entries=8, max_mb=MODELS_MB, copy=False, on_evict=_forget)
def get_model(name: str) -> ModelAdapter:
    """Load a model (built-in name or user path) once per server process; sessions share it."""
    model = load_model(name)
    _LOAD_KEYS[id(model)] = name
    return model


KEPT_PREFIX = "kept:"
_KEPT: weakref.WeakValueDictionary[str, ModelAdapter] = weakref.WeakValueDictionary()


def kept_key(model: ModelAdapter) -> str:
    """The plain key of a session-kept (compressed) model: its weights' sha256."""
    if not model.info.sha256:
        raise InputError(f"{model.info.name} has no sha256 of its weights, so it cannot be kept")
    return KEPT_PREFIX + model.info.sha256


def register(model: ModelAdapter) -> str:
    """Put a kept model in the per-process registry (weakly: it lives while a session keeps it)."""
    k = kept_key(model)
    _KEPT[k] = model
    return k


def kept_models() -> dict[str, ModelAdapter]:
    """This session's kept models by display name."""
    return dict(st.session_state.get(state.COMPRESSED_MODELS) or {})


def resolve(name: str) -> ModelAdapter:
    """A model by plain key: this session's kept models, the registry, then get_model(name)."""
    if name.startswith(KEPT_PREFIX):
        for model in kept_models().values():
            if kept_key(model) == name:
                return model
        model = _KEPT.get(name)
        if model is None:
            raise InputError(f"no kept model {name!r} in this session; keep it again on the "
                             f"Compression page (kept here: {list(kept_models())})")
        return model
    return get_model(name)


def key(model: ModelAdapter) -> str:
    """The plain cache key of a model: the name or path it was loaded by, or its kept key."""
    if isinstance(model, IsCompressed) and model.info.sha256:
        return register(model)
    return _LOAD_KEYS.get(id(model), model.info.name)


@memo(max_entries=8, max_mb=256, copy=False)
def get_samples(name: str, n: int | None = None) -> list[tuple[Any, int]]:
    """The model's bundled held-out samples (read-only; shared by sessions)."""
    model = resolve(name)
    if not isinstance(model, HasSamples):
        return []
    return list(model.samples(n, 0))


@memo(max_entries=1024, max_mb=16)
def predict(model_name: str, input_key: str, _raw: Any) -> np.ndarray:
    """Class probabilities for one input, keyed by model name and input hash."""
    return np.asarray(resolve(model_name).predict(_raw), dtype=float)


@memo(max_entries=256, max_mb=RESULTS_MB)
def explain(model_name: str, input_key: str, method: str, target: int | None,
            params_json: str, _raw: Any, _progress: Progress | None = None,
            _control: Any = None, _on_stage: Callable[[Any], Any] | None = None
            ) -> explainers.Attribution:
    """One explanation, keyed by (model, input hash, method, target, params JSON); `_control`
    (cancel token, time limit) and `_on_stage` (adaptive IG's passes) are not part of the key."""
    model = resolve(model_name)
    params = passable(method, json.loads(params_json), model)
    if _progress is not None:
        params["progress"] = _progress
    if _on_stage is not None and "on_stage" in explainers.get_method(method).free_params:
        params["on_stage"] = _on_stage
    return explainers.explain(model, _raw, method, target=target, control=_control, **params)


CLASHES = ("model", "raw", "method", "target")  # explain()'s own argument names


def passable(method: str, params: dict[str, Any], model: ModelAdapter | None = None
             ) -> dict[str, Any]:
    """Parameters explain() can take as keywords.

    A Param named like one of explain()'s own arguments (CLASHES) could not be passed; no
    method declares one today, so this only guards a new method: at its default it is
    dropped, at any other value the user reads why instead of a TypeError.
    """
    spec = explainers.get_method(method)
    specs = spec.params_for(model) if model is not None else spec.params
    defaults = {p.name: p.default for p in specs}
    out = {}
    for name, value in params.items():
        if name not in CLASHES:
            out[name] = value
        elif value != defaults.get(name):
            raise InputError(f"parameter {name!r} of {method} cannot be changed from "
                             f"{defaults.get(name)!r} here yet (it shares explain()'s "
                             f"argument name)")
    return out


@memo(max_entries=512, max_mb=128)
def picture(model_name: str, input_key: str, _model: HasImage, _raw: Any) -> np.ndarray:
    """What the model sees (display_image: uint8 [H, W, 3]) for one input, keyed like predict:
    once per model and input, however many thumbnails and overlays show it. The model comes
    along unhashed (a compressed copy that is not kept cannot be resolved by its key)."""
    return np.asarray(_model.display_image(_raw))


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


@memo(max_entries=256, max_mb=16)
def modality_share(model_name: str, input_key: str, method: str, target: int, params_json: str,
                   _raw: Any, _a: explainers.Attribution) -> dict[str, Any]:
    """explainers.fusion.modality_share of one fusion result, keyed like the result itself."""
    from explainers.fusion import modality_share as share

    return share(resolve(model_name), _raw, _a)


@memo(max_entries=32, max_mb=128)
def cross_modal(model_name: str, input_key: str, method: str, target: int, params_json: str,
                _raw: Any) -> Any:
    """explainers.fusion.cross_modal (image maps with each token masked), for one result."""
    from explainers.fusion import cross_modal as run

    return run(resolve(model_name), _raw, target, method, **json.loads(params_json))


@memo(max_entries=256, max_mb=8)
def generate(model_name: str, prompt: str, max_new_tokens: int) -> str:
    """A causal LM's greedy continuation of a prompt (the continuation only)."""
    model = resolve(model_name)
    with model.lock, torch.no_grad():
        return model.generate(prompt, max_new_tokens=max_new_tokens)


@memo(max_entries=64, max_mb=64)
def logit_lens(model_name: str, prompt: str, continuation: str, k: int = 3) -> Any:
    """explainers.generation.logit_lens over prompt + continuation: the k most likely next
    tokens read out at every layer for every position (a LogitLens)."""
    from explainers.generation import logit_lens as lens

    return lens(resolve(model_name), prompt, k, continuation or None)

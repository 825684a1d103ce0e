"""Choosing methods and their parameters, and running them with a progress bar (cached)."""
from __future__ import annotations

import logging
import time
from typing import Any

import streamlit as st

from dashboard import cache, inputs, state, widgets
from dashboard.inputs import UserInput
from explainers import Attribution, get_method, list_methods
from models import ModelAdapter
from models.errors import USER_ERRORS, CancelledError

log = logging.getLogger(__name__)

# cheap, informative first choices per modality (the first ones that exist are used)
PREFERRED = {
    "image": ("integrated_gradients", "grad_cam", "saliency"),
    "text": ("integrated_gradients", "attention_rollout", "saliency"),
    "tabular": ("integrated_gradients", "kernel_shap", "saliency"),
    "fusion": ("integrated_gradients", "saliency"),
}


def method_label(name: str) -> str:
    """A method's display label (the registry key when it is not registered)."""
    try:
        return get_method(name).label
    except KeyError:
        return name


def is_cheap(model: ModelAdapter) -> bool:
    """Small enough to explain without asking (not a large image model on a CPU)."""
    size = model.info.input_size
    return model.device.type == "cuda" or size is None or size[0] * size[1] <= 64 * 64


def default_methods(model: ModelAdapter, available: list[str], n: int = 2) -> list[str]:
    wanted = [m for m in PREFERRED.get(model.info.modality, ()) if m in available]
    return (wanted or available)[:n]


def is_user_model(model: ModelAdapter) -> bool:
    """Loaded from a user's file (info.source is its path), not built in or a compressed copy."""
    source = model.info.source or "builtin"
    return source != "builtin" and not source.startswith("compressed:")


def available_methods(model: ModelAdapter) -> list[str]:
    """The methods to offer: for a user's model only those its preflight passed (cached per
    model object by explainers.preflight), else every registered method that supports it."""
    if is_user_model(model):
        from explainers.preflight import usable_methods

        return list(usable_methods(model))
    return list_methods(model)


def method_picker(model: ModelAdapter, key: str = state.METHODS, n_default: int = 2,
                  label: str = "Methods") -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Multiselect of the methods that fit the model, then each method's parameter widgets."""
    available = available_methods(model)
    if not available:
        st.warning(f"No explanation method supports {model.info.name} yet.")
        return [], {}
    wkey = state.widget_key(key, cache.key(model))
    if wkey not in st.session_state:
        state.put(wkey, default_methods(model, available, n_default))
    selected = st.multiselect(label, available, key=wkey, format_func=method_label,
                              help="Each method runs on the same input; results side by side.")
    return selected, param_expander(model, selected)


def param_expander(model: ModelAdapter, selected: list[str], skip: tuple[str, ...] = ()
                   ) -> dict[str, dict[str, Any]]:
    """Each selected method's parameter widgets (but `skip`), in one collapsed expander."""
    params: dict[str, dict[str, Any]] = {}
    if selected:
        with st.expander("Method parameters", expanded=False):
            cols = st.columns(min(3, len(selected)))
            for i, name in enumerate(selected):
                col = cols[i % len(cols)]
                col.markdown(f"**{method_label(name)}**")
                params[name] = widgets.param_widgets(get_method(name), col, model, skip)
    return params


IG_TOLERANCE = 0.05  # the dashboard's default: adaptive IG (the core's default is exactly n_steps)


def interactive_defaults() -> None:
    """The Explain page's defaults where the core's differ: adaptive steps for IG (other pages
    then score what the Explain page showed; opened first, they keep the core's defaults)."""
    key = state.widget_key("param", "integrated_gradients", "tolerance")
    if key not in st.session_state:
        state.put(key, IG_TOLERANCE)


def call_params(name: str, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """The parameters sent to explain(): widget values, plus the seed for stochastic methods."""
    out = dict(params)
    if get_method(name).stochastic:
        out["seed"] = seed
    return out


def run_key(model: ModelAdapter, inp: UserInput, target: int | None, selected: list[str],
            params: dict[str, dict[str, Any]], seed: int) -> str:
    """A plain key of everything that decides the results on screen."""
    return state.params_json({"model": cache.key(model), "input": inp.key, "target": target,
                              "methods": selected, "params": params, "seed": seed})


def run_one(model: ModelAdapter, inp: UserInput, target: int | None, name: str,
            params: dict[str, Any], progress: Any, control: Any = None, on_stage: Any = None
            ) -> tuple[Attribution | str, float]:
    """One cached explanation and its wall time; a user-caused error comes back as its message
    (a cancelled or timed-out run raises, for dashboard.jobs to end the run)."""
    start = time.perf_counter()
    try:
        a = cache.explain(cache.key(model), inp.key, name, target, state.params_json(params),
                          inp.raw, progress, control, on_stage)
    except CancelledError:
        raise
    except USER_ERRORS as exc:
        log.warning("method %s failed on %s", name, model.info.name, exc_info=True)
        return f"{method_label(name)} failed: {exc}", time.perf_counter() - start
    return a, time.perf_counter() - start


def collapsed_input(model: ModelAdapter, empty: str) -> tuple[UserInput, int, int] | None:
    """The Explain page's input in a collapsed box, then target and seed, for pages that reuse
    it (Compare, Trust); None after showing one line when there is no usable input."""
    if model.info.modality == "generation":
        st.info(f"{model.info.name} is a language model: explain its continuations on the "
                "Explain page.")
        return None
    current = state.get(state.CURRENT) or {}
    with st.expander(f"Input: {current.get('label', 'choose one')}", expanded=False):
        try:
            inp = inputs.input_section(model)
        except USER_ERRORS as exc:
            st.error(str(exc))
            return None
    if inp is None:
        st.info(empty)
        return None
    try:
        predicted = int(cache.predict(cache.key(model), inp.key, inp.raw).argmax())
    except USER_ERRORS as exc:
        st.error(str(exc))
        return None
    return inp, widgets.target_picker(model, predicted), widgets.seed_widget()

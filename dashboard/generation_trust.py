"""Trust page for generation models: score the Explain page's attributions of a continuation."""
from __future__ import annotations

import html
from typing import Any

import streamlit as st

from dashboard import cache, panels, state, trust_panel, widgets
from dashboard.generation_view import result_input
from dashboard.inputs import UserInput
from dashboard.runner import USER_ERRORS
from explainers import Attribution
from models import ModelAdapter


def last_results(model: ModelAdapter) -> tuple[dict[str, Any], dict[str, Attribution]] | None:
    """The generation view's last results for this model and their good attributions."""
    results = state.get(state.GEN_RESULTS)
    if not results or results["model"] != cache.key(model):
        return None
    good = {n: a for n, a in results["items"] if isinstance(a, Attribution)}
    return (results, good) if good else None


def controls(seed: int) -> dict[str, Any]:
    left, right = st.columns(2)
    heavy = left.checkbox("Heavy scores", key=state.TRUST_HEAVY, help=(
        "Also re-explain the prompt: stability over seeds (stochastic methods) and "
        "max-sensitivity. Slower."))
    steps = right.slider("Curve steps", 5, 50, 20, key=state.TRUST_STEPS,
                         help="Points on the deletion/insertion curves.")
    return trust_panel.settings_of(heavy, steps, 3, seed)


def score(model: ModelAdapter, inp: UserInput, good: dict[str, Attribution],
          settings: dict[str, Any]) -> dict[str, Any]:
    """trust_report of the attributions (cached), with a progress bar; a failure is one line."""
    bar = st.progress(0.0, text="Scoring trust...")
    key = trust_panel.run_key(model, inp, None, good, settings)
    found: dict[str, Any] = {"key": key, "model": cache.key(model), "input": inp.key,
                             "methods": list(good), "settings": settings, "target": None,
                             "errors": [], "report": None, "error": None,
                             "attributions": list(good.values())}
    try:
        found["report"] = trust_panel.scores(cache.key(model), inp.key, key, inp.raw, good,
                                             cache.ui_progress(bar, 0.0, 1.0, "Scoring trust..."))
    except USER_ERRORS as exc:
        found["error"] = f"Trust scores failed: {exc}"
    bar.progress(1.0, text="Done")
    return found


def render(model: ModelAdapter) -> None:
    """Deletion/insertion of prompt tokens against the continuation's log-probability, beside a
    random order, and agreement between methods, for the Explain page's last results."""
    seed = widgets.seed_widget()
    last = last_results(model)
    if last is None:
        st.info(f"Explain a continuation of {model.info.name} on the Explain page first: its "
                "results are scored here.")
        return
    results, good = last
    st.markdown(f'Prompt <span style="color:#777">{html.escape(results["prompt"])}</span> → '
                f'<b>{html.escape(results["continuation"])}</b>', unsafe_allow_html=True)
    st.caption("Deletion/insertion remove or restore prompt tokens, most important first, and "
               "follow log p(continuation); a random order is the reference. Methods: "
               + ", ".join(panels.method_label(n) for n in good))
    settings = controls(seed)
    inp = result_input(results)
    key = trust_panel.run_key(model, inp, None, good, settings)
    if st.button("Score trust", type="primary", key=state.TRUST_RUN, icon=":material/verified:"):
        state.put(state.TRUST_RESULTS, score(model, inp, good, settings))
    found = state.get(state.TRUST_RESULTS)
    if not found or found.get("key") != key:
        st.info("Press **Score trust** to score these explanations.")
        return
    panels.trust_results(model, inp, found, "continuation")

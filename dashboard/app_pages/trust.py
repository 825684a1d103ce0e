"""Trust page: how far to trust each explanation of the current input (scores, curves, ranking)."""
from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from dashboard import cache, jobs, notices, panels, runner, state, trust_panel, widgets
from dashboard.inputs import UserInput
from explainers import list_methods
from models import ModelAdapter
from models.errors import USER_ERRORS, CancelledError

log = logging.getLogger(__name__)


def method_choice(model: ModelAdapter, inp: UserInput, target: int | None, seed: int) -> list[str]:
    """Methods to score: by default those explained on the Explain page for this input."""
    available = list_methods(model)
    if not available:
        st.warning(f"No explanation method supports {model.info.name} yet.")
        return []
    wkey = state.widget_key(state.TRUST_METHODS, cache.key(model))
    if wkey not in st.session_state:
        done = [m for m in trust_panel.explained(model, inp, target, seed) if m in available]
        state.put(wkey, done or runner.default_methods(model, available))
    return st.multiselect("Methods to score", available, key=wkey,
                          format_func=panels.method_label,
                          help="Defaults to the methods explained on the Explain page.")


def controls(seed: int) -> dict:
    """Heavy-score switch and the curve/stability settings."""
    left, mid, right = st.columns(3)
    heavy = left.checkbox("Heavy scores", key=state.TRUST_HEAVY, help=(
        "Also re-explain the input: stability over K seeds, the sanity check (randomised "
        "layers) and max-sensitivity. Slower."))
    steps = mid.slider("Curve steps", 5, 50, 20, key=state.TRUST_STEPS,
                       help="Points on the deletion/insertion curves.")
    k = right.number_input("Stability seeds (K)", 2, 10, 5, key=state.TRUST_K, disabled=not heavy)
    return trust_panel.settings_of(heavy, steps, k, seed)


def run(model: ModelAdapter, inp: UserInput, target: int | None, methods: list[str],
        settings: dict, bar: Any) -> None:
    """Explain (cached), then score with a progress bar (a jobs.running bar: Cancel and the
    time limit stop it, and nothing is stored); the outcome goes to session state."""
    attributions, errors = trust_panel.gather(model, inp, target, methods, settings["seed"], bar,
                                              0.3)
    found = {"key": None, "model": cache.key(model), "input": inp.key, "methods": methods,
             "settings": settings, "target": target, "errors": errors, "report": None,
             "error": None}
    if attributions:
        key = found["key"] = trust_panel.run_key(model, inp, target, attributions, settings)
        progress = cache.ui_progress(bar, 0.3, 0.7, "Scoring trust...")
        try:
            found["report"] = trust_panel.scores(cache.key(model), inp.key, key, inp.raw,
                                                 attributions, progress)
        except CancelledError:
            raise
        except USER_ERRORS as exc:
            log.warning("trust scores failed on %s", model.info.name, exc_info=True)
            found["error"] = f"Trust scores failed: {exc}"
        found["attributions"] = list(attributions.values())
        notices.remember_sanity(model, inp, found["report"])
    bar.progress(1.0, text="Done")
    state.put(state.TRUST_RESULTS, found)


def render() -> None:
    model = widgets.model_sidebar()
    st.title("How far to trust each explanation")
    if model is None:
        return
    if model.info.modality == "generation":  # scores the generation view's last results
        from dashboard import generation_trust

        generation_trust.render(model)
        return
    st.caption("Faithfulness (deletion/insertion curves against random), infidelity, "
               "completeness; on request stability, the sanity check and max-sensitivity.")
    chosen = runner.collapsed_input(
        model, "No input yet: choose one on the Explain page (or in the Input box above).")
    if chosen is None:
        return
    inp, target, seed = chosen
    methods = method_choice(model, inp, target, seed)
    settings = controls(seed)
    clicked = st.button("Score trust", type="primary", key=state.TRUST_RUN,
                        disabled=not methods, icon=":material/verified:")
    jobs.notice("trust", unless=clicked)
    if clicked:
        with jobs.running("trust", "Starting...", "Scoring trust") as job:
            run(model, inp, target, methods, settings, job.bar_proxy())
    found = state.get(state.TRUST_RESULTS)
    same = found and (found["model"], found["input"], found["methods"], found["settings"],
                      found["target"]) == (cache.key(model), inp.key, methods, settings, target)
    if not same:
        st.info("Press **Score trust** to score the chosen methods on this input.")
        return
    panels.trust_results(model, inp, found, "input")


render()

"""Models side by side on one input: the built-ins, kept compressed copies and the user's own
models of the same modality, their predictions and maps in one grid, and how far they agree."""
from __future__ import annotations

import logging

import numpy as np
import streamlit as st

from dashboard import cache, jobs, panels, runner, state, widgets
from dashboard.figures import plot
from dashboard.inputs import UserInput
from explainers import list_methods
from explainers.side_by_side import ModelRun, SideBySide, agreement
from models import ModelAdapter
from models.errors import USER_ERRORS

log = logging.getLogger(__name__)
PER_ROW = 3


def candidates(model: ModelAdapter) -> dict[str, str]:
    """Load key -> display name of every other model with the same modality (those that load):
    the session's own models (loaded or kept) first, then the built-ins."""
    here, out, builtin = cache.key(model), {}, set(cache.model_names())
    options = widgets.model_options()
    for key, label in sorted(options.items(), key=lambda kv: kv[0] in builtin):
        if key == here:
            continue
        try:
            other = cache.resolve(key)
        except USER_ERRORS as exc:
            log.info("side by side: %s does not load: %s", label, exc)
            continue
        if other.info.modality == model.info.modality:
            out[key] = label
    return out


def common_methods(models: list[ModelAdapter]) -> list[str]:
    """The methods every one of the models offers, in the first model's order."""
    sets = [set(runner.available_methods(m)) for m in models[1:]]
    return [m for m in runner.available_methods(models[0]) if all(m in s for s in sets)]


def run(models: list[ModelAdapter], inp: UserInput, target: int | None, method: str,
        params: dict, seed: int, job: jobs.Job) -> SideBySide:
    """Each model's prediction and (cached) explanation under the job's bar and Cancel, then
    the agreement between them."""
    runs = []
    for i, m in enumerate(models):
        text = f"{m.info.name} ({i + 1}/{len(models)})"
        probs = cache.predict(cache.key(m), inp.key, inp.raw)
        a, _ = runner.run_one(m, inp, target, method, runner.call_params(method, params, seed),
                              job.progress(i / len(models), 1 / len(models), text), job.control)
        runs.append(ModelRun(m.info.name, probs, None, a) if isinstance(a, str)
                    else ModelRun(m.info.name, probs, a))
    job.show(1.0, f"Done: {len(models)} models")
    return agreement(method, runs, [m.info.class_names for m in models])


def agreement_view(found: SideBySide) -> None:
    """Same predicted class? and the two agreement matrices of the maps."""
    if found.same_class:
        st.success(f"Every model predicts **{found.labels[0]}**.")
    else:
        st.warning("The models disagree: " + ", ".join(
            f"{n} predicts {lab!r}" for n, lab in zip(found.names, found.labels, strict=True)))
    for note in found.notes:
        st.info(note)
    left, right = st.columns(2)
    left.plotly_chart(plot("agreement_matrix")(found.spearman, found.names,
                                               "Spearman rank correlation of |maps|"),
                      key="models::spearman")
    right.plotly_chart(plot("agreement_matrix")(found.topk, found.names,
                                                f"Top-{found.k} overlap"), key="models::topk")


def grid(models: list[ModelAdapter], inp: UserInput, found: SideBySide) -> None:
    """One panel per model: its prediction, then the method's figures (the one figures path)."""
    for start in range(0, len(models), PER_ROW):
        cols = st.columns(PER_ROW)
        for j, col in enumerate(cols[:len(models) - start]):
            i = start + j
            m, r = models[i], found.runs[i]
            with col.container(border=True):
                st.markdown(f"**{m.info.name}**")
                st.caption(f"predicts {found.labels[i]} ({float(np.max(r.probs)):.1%})")
                a = r.attribution if r.attribution is not None else r.error
                panels.result_panel(m, inp, a, found.method, tag=f"models::{i}")


def section(model: ModelAdapter, inp: UserInput, target: int | None, seed: int) -> None:
    """Pick the other models and one method; run; show agreement and the grid."""
    options = candidates(model)
    if not options:
        st.info(f"No other {model.info.modality} model to compare with: load one on the "
                "Bring-your-own page or keep a compressed copy on the Compression page.")
        return
    chosen = st.multiselect("Models beside " + model.info.name, list(options),
                            default=list(options)[:1], format_func=options.get,
                            key=state.widget_key(state.MODELS_WITH, cache.key(model)))
    models = [model] + [cache.resolve(k) for k in chosen]
    methods = common_methods(models) if chosen else list_methods(model)
    if not methods:
        st.warning("No explanation method runs on all of these models.")
        return
    method = st.selectbox("Method", methods, format_func=runner.method_label,
                          key=state.MODELS_METHOD)
    params = runner.param_expander(model, [method]).get(method, {})
    key = state.params_json({"models": [cache.key(m) for m in models], "input": inp.key,
                             "target": target, "method": method, "params": params, "seed": seed})
    clicked = st.button("Compare models", type="primary", key=state.MODELS_RUN,
                        disabled=not chosen)
    jobs.notice("models", unless=clicked)
    if clicked:
        with jobs.running("models", "Starting...", "the models' comparison", key) as job:
            found = run(models, inp, target, method, params, seed, job)
            state.put(state.MODELS_RESULTS, {"key": key, "found": found})
    results = state.get(state.MODELS_RESULTS)
    if not results or results["key"] != key:
        st.info("Pick one or more models and press **Compare models**.")
        return
    agreement_view(results["found"])
    grid(models, inp, results["found"])

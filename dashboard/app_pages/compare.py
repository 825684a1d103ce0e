"""Compare page: one input under several methods (their agreement, IG baselines) or models."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard import cache, jobs, model_grid, panels, progressive, runner, state, widgets
from dashboard.figures import plot
from dashboard.inputs import UserInput
from explainers import Attribution, get_method, list_methods
from explainers.baselines import baseline_picture
from models import ModelAdapter
from models.errors import USER_ERRORS


def agreement_section(results: list[Attribution]) -> None:
    """Spearman and top-k overlap matrices across the methods that succeeded."""
    from explainers.metrics.agreement import agreement

    if len(results) < 2:
        st.info("Agreement needs at least two methods that succeeded.")
        return
    n = np.asarray(results[0].values).size if not isinstance(results[0].values, dict) else 0
    k = int(st.slider("k for top-k overlap", 1, max(2, min(n, 500)), min(max(n // 10, 5), n),
                      key=state.COMPARE_K)) if n > 1 else None
    try:
        agr = agreement(results, k)
    except USER_ERRORS as exc:
        st.error(str(exc))
        return
    names = [panels.method_label(m) for m in agr.names]
    left, right = st.columns(2)
    left.plotly_chart(plot("agreement_matrix")(agr.spearman, names, "Spearman rank correlation"),
                      key="compare::spearman")
    right.plotly_chart(plot("agreement_matrix")(agr.topk, names, f"Top-{agr.k} overlap"),
                       key="compare::topk")


def methods_section(model: ModelAdapter, inp: UserInput, target: int | None, seed: int) -> None:
    selected, params = runner.method_picker(model, state.COMPARE_METHODS, 3, "Methods to compare")
    key = runner.run_key(model, inp, target, selected, params, seed)
    jobs.stop_stale("compare", key)
    clicked = st.button("Compare", type="primary", key=state.COMPARE_RUN,
                        disabled=len(selected) < 1)
    jobs.notice("compare", unless=clicked)
    if clicked:
        def keep(items: list) -> None:  # as each method finishes: Cancel keeps them
            state.put(state.COMPARE_RESULTS, {"key": key, "items": items})

        progressive.run_methods(model, inp, target, selected, params, seed, "compare", keep,
                                key)
    results = state.get(state.COMPARE_RESULTS)
    if not results or results["key"] != key:
        st.info("Pick two or more methods and press **Compare**.")
        return
    good = [a for _, a in results["items"] if not isinstance(a, str)]
    st.subheader("Agreement")
    agreement_section(good)
    st.subheader("Side by side")
    panels.result_grid(model, inp, results["items"], tag="compare", per_row=3)
    panels.download_buttons(model, inp, good, tag="compare")


NOT_EXPLORED = ("auto", "custom")  # auto is one of the others; custom needs the user's own


def baseline_param(model: ModelAdapter) -> tuple[str, list[Any]] | None:
    """IG's baseline parameter and the kinds this model offers (None if not applicable): the
    choices of IG's spec for this model (params_for narrows them to the model's kinds)."""
    if "integrated_gradients" not in list_methods(model):
        return None
    for p in get_method("integrated_gradients").params_for(model):
        if "baseline" in p.name and p.kind == "choice":
            kinds = [c for c in p.choices if c not in NOT_EXPLORED]
            return (p.name, kinds) if kinds else None
    return None


def baseline_pictures(model: ModelAdapter, inp: UserInput, kinds: list[str]) -> None:
    """What each chosen baseline looks like to the model (image models), one thumbnail each."""
    if model.info.modality not in ("image", "fusion") or not kinds:
        return
    cols = st.columns(max(len(kinds), 4))
    for col, kind in zip(cols, kinds, strict=False):
        try:
            col.image(baseline_picture(model, inp.raw, kind), caption=f"baseline: {kind}",
                      width=120)
        except USER_ERRORS as exc:
            col.caption(f"baseline {kind}: {exc}")


def baseline_section(model: ModelAdapter, inp: UserInput, target: int | None) -> None:
    """Integrated Gradients under several baselines, side by side with their deltas."""
    found = baseline_param(model)
    if found is None:
        st.info("The baseline explorer needs Integrated Gradients with a baseline choice.")
        return
    name, kinds = found
    chosen = st.multiselect("Baselines", kinds, default=kinds[:3], key=state.BASELINES)
    baseline_pictures(model, inp, chosen)
    key = state.params_json({"model": cache.key(model), "input": inp.key, "target": target,
                             "kinds": chosen})
    clicked = st.button("Run IG per baseline", key=state.BASELINE_RUN, disabled=not chosen)
    jobs.notice("baselines", unless=clicked)
    if clicked:
        items = []
        with jobs.running("baselines", "Integrated Gradients", "IG per baseline", key) as job:
            for i, kind in enumerate(chosen):
                text = f"baseline {kind}"
                a, _ = runner.run_one(model, inp, target, "integrated_gradients", {name: kind},
                                      job.progress(i / len(chosen), 1 / len(chosen), text),
                                      job.control)
                items.append((kind, a))
            state.put(state.BASELINE_RESULTS, {"key": key, "items": items})
    results = state.get(state.BASELINE_RESULTS)
    if results and results["key"] == key:
        cols = st.columns(max(1, len(results["items"])))
        for col, (kind, a) in zip(cols, results["items"], strict=True):
            with col.container(border=True):
                st.markdown(f"**baseline: {kind}**")
                panels.result_panel(model, inp, a, "integrated_gradients", f"baseline::{kind}")


def render() -> None:
    model = widgets.model_sidebar()
    st.title("Compare methods")
    if model is None:
        return
    chosen = runner.collapsed_input(model, "Choose an input above.")
    if chosen is None:
        return
    inp, target, seed = chosen
    what = st.segmented_control("Compare", ["Methods", "Models"], default="Methods",
                                key=state.COMPARE_WHAT, help="Methods: one model, several "
                                "methods. Models: several models of this modality, one method.")
    if what == "Models":
        model_grid.section(model, inp, target, seed)
        return
    methods_section(model, inp, target, seed)
    st.subheader("Integrated Gradients: baseline explorer")
    baseline_section(model, inp, target)


render()

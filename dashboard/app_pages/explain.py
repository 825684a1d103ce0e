"""Explain page: pick an input, see the prediction at once, run several methods side by side."""
from __future__ import annotations

import streamlit as st

from dashboard import cache, inputs, jobs, notices, panels, progressive, runner, state, widgets
from dashboard.figures import plot
from dashboard.inputs import UserInput
from models import ModelAdapter
from models.errors import USER_ERRORS


def prediction(model: ModelAdapter, inp: UserInput) -> int | None:
    """Top-k probabilities as a bar chart and the predicted class; None (error shown) on failure."""
    try:
        probs = cache.predict(cache.key(model), inp.key, inp.raw)
    except USER_ERRORS as exc:
        st.error(str(exc))
        return None
    names = model.info.class_names
    k = min(5, len(names))
    st.plotly_chart(plot("probabilities_bar")(probs, names, k), key="prediction_chart")
    pred = int(probs.argmax())
    line = f"Predicted **{names[pred]}** ({probs[pred]:.1%})"
    if inp.true_class is not None:
        ok = "correct" if inp.true_class == pred else "wrong"
        line += f" · true class **{names[inp.true_class]}** ({ok})"
    st.markdown(line)
    st.caption(f"Input: {inp.label}")
    notices.prediction_notices(model, inp, probs)
    return pred


def input_and_prediction(model: ModelAdapter) -> tuple[UserInput | None, int | None]:
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Input")
        try:
            inp = inputs.input_section(model)
        except USER_ERRORS as exc:
            st.error(str(exc))
            inp = None
    if inp is None:
        return None, None
    with right:
        st.subheader("Prediction")
        return inp, prediction(model, inp)


def explanations(model: ModelAdapter, inp: UserInput, target: int | None, seed: int) -> None:
    st.subheader("Explanations")
    runner.interactive_defaults()
    selected, params = runner.method_picker(model)
    if not selected:
        return
    key = runner.run_key(model, inp, target, selected, params, seed)
    jobs.stop_stale("explain", key)  # the input or settings changed: stop the old refinement
    clicked = st.button("Explain", type="primary", key=state.RUN, icon=":material/play_arrow:")
    arrived = bool(st.session_state.pop(state.EXPLAIN_NOW, False))  # opened from Data set
    auto = arrived or (not state.get(state.AUTO_RAN) and runner.is_cheap(model))
    state.put(state.AUTO_RAN, True)  # only the first input of a session explains itself
    again = bool(state.get(state.RERUN))  # e.g. "Re-run with more steps" under a result
    state.put(state.RERUN, False)
    jobs.notice("explain", unless=clicked or auto or again)
    if clicked or auto or again:
        def keep(items: list) -> None:  # as each method finishes: Cancel keeps them
            state.put(state.RESULTS, {"key": key, "items": items})

        # stored as each method finishes (a run stopped before any leaves the earlier ones)
        progressive.run_methods(model, inp, target, selected, params, seed, keep=keep,
                                run_key=key)
    results = state.get(state.RESULTS)
    if not results or results["key"] != key:
        st.info("Press **Explain** to run the chosen methods on this input.")
        return
    panels.result_grid(model, inp, results["items"])
    good = [a for _, a in results["items"] if not isinstance(a, str)]
    if good:
        st.subheader("Download")
        panels.download_buttons(model, inp, good)


def render() -> None:
    model = widgets.model_sidebar()
    generation = model is not None and model.info.modality == "generation"
    st.title("Explain a continuation" if generation else "Explain a prediction")
    if model is None:
        st.info("Pick another model in the sidebar.")
        return
    if generation:  # causal language models have their own view
        from dashboard import generation_view

        generation_view.render(model)
        return
    st.caption("Choose an input; the prediction shows at once. Then pick methods and press "
               "Explain to see which parts of the input drove the prediction.")
    inp, predicted = input_and_prediction(model)
    if inp is None or predicted is None:
        return
    target = widgets.target_picker(model, predicted)
    seed = widgets.seed_widget()
    explanations(model, inp, target, seed)


render()

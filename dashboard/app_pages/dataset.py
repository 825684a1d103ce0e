"""Data set page: bundled samples with prediction and correctness, class-level summaries."""
from __future__ import annotations

import streamlit as st

from dashboard import cache, panels, runner, state, summaries, widgets
from dashboard.runner import USER_ERRORS
from explainers import list_methods
from models import ModelAdapter

SAMPLE_KEYS = {"image": state.IMAGE_SAMPLE, "tabular": state.TABLE_SAMPLE}


def open_in_explain(model: ModelAdapter, index: int) -> None:
    """Make sample `index` the Explain page's input and go there."""
    modality = model.info.modality
    if modality in SAMPLE_KEYS:
        state.put(SAMPLE_KEYS[modality], index)
        state.put(state.IMAGE_SOURCE if modality == "image" else state.TABLE_SOURCE,
                  "Sample" if modality == "image" else "Data set row")
    elif modality == "text":
        state.put(state.TEXT, str(cache.get_samples(cache.key(model), state.get(state.DS_N))
                                  [index][0]))
    st.switch_page("app_pages/explain.py")


def samples_section(model: ModelAdapter) -> None:
    n = int(st.slider("Samples", 10, 200, 100, 10, key=state.DS_N))
    bar = st.progress(0.0, text="Predicting samples...")
    table = summaries.sample_table(cache.key(model), n, cache.ui_progress(bar, 0, 1, "Predicting"))
    bar.empty()
    if table.empty:
        st.info("This model has no bundled samples.")
        return
    acc = table["correct"].mean()
    st.markdown(f"**{len(table)}** samples · accuracy **{acc:.1%}** · "
                f"**{(~table['correct']).sum()}** misclassified")
    if st.checkbox("Only misclassified", key=state.DS_FILTER):
        table = table[~table["correct"]]
    st.dataframe(table, hide_index=True, width="stretch", height=260,
                 column_config={"confidence": st.column_config.ProgressColumn(
                     "confidence", min_value=0.0, max_value=1.0, format="percent")})
    if not table.empty:
        c1, c2 = st.columns([3, 1])
        i = c1.selectbox("Open a sample in Explain", table["sample"].tolist(), key=state.DS_OPEN)
        if c2.button("Open", key="ds_open_btn"):
            open_in_explain(model, int(i))


def summary_section(model: ModelAdapter) -> None:
    methods = list_methods(model)
    if not methods:
        st.info("No method supports this model yet.")
        return
    default = runner.default_methods(model, methods, 1)[0]
    c1, c2 = st.columns(2)
    method = c1.selectbox("Method", methods, index=methods.index(default),
                          format_func=panels.method_label, key=state.DS_METHOD)
    per_class = int(c2.slider("Samples per class", 1, 20, 5, key="ds_per_class"))
    n = int(state.get(state.DS_N) or 100)
    key = (cache.key(model), method, per_class, n)
    if st.button("Compute class summaries", key=state.DS_RUN):
        bar = st.progress(0.0, text="Explaining samples...")
        try:
            value = summaries.class_summary(*key, cache.ui_progress(bar, 0, 1, "Explaining"))
            bar.empty()
        except USER_ERRORS as exc:
            st.error(f"Class summaries failed: {exc}")
            return
        state.put(state.DS_SUMMARY, {"key": key, "value": value})
    stored = state.get(state.DS_SUMMARY)
    if stored and stored["key"] == key:
        st.plotly_chart(summaries.summary_figure(stored["value"]), key="ds::summary")


def render() -> None:
    model = widgets.model_sidebar()
    st.title("Data set")
    if model is None:
        return
    st.caption(f"Held-out samples bundled with {model.info.name}, and what the model attends "
               "to per class.")
    try:
        samples_section(model)
    except USER_ERRORS as exc:
        st.error(str(exc))
    st.subheader("Class summaries")
    summary_section(model)


render()

"""Data set page: run a job over a data set (upload or bundled split), see where the model fails."""
from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import cache, dataset_job, dataset_views, inputs, jobs, runner, state, widgets
from dashboard.runner import USER_ERRORS
from models import ModelAdapter

SOURCES = ("Bundled held-out split", "Upload")
ENGINES = {"local": "In-process", "ray": "Ray"}
UPLOAD_HELP = ("A .zip of an image folder (class-named subfolders give labels), a .csv (feature "
               "columns or a 'text' column, plus an optional 'label'), or a .txt with one text "
               "per line.")


def data_section() -> str | None:
    """The data to run on: 'builtin' or the saved upload's path; None (one line shown) if none."""
    source = st.radio("Data", SOURCES, key=state.DS_SOURCE, horizontal=True)
    if source == SOURCES[0]:
        return dataset_job.BUILTIN
    up = st.file_uploader("Data set file", type=dataset_job.UPLOAD_TYPES, key=state.DS_UPLOAD,
                          help=UPLOAD_HELP, max_upload_size=inputs.upload_mb())
    if up is None:
        st.info(UPLOAD_HELP)
        return None
    try:
        return str(dataset_job.save_upload(up.name, up.getvalue()))
    except USER_ERRORS as exc:
        st.error(str(exc))
        return None


def options_section() -> dict[str, Any]:
    c1, c2, c3 = st.columns(3)
    limit = int(c1.number_input("Inputs (0 = all)", 0, 10_000_000, 200, step=20,
                                key=state.DS_LIMIT, help="Like --limit: the first N inputs."))
    engines = ["local"] + (["ray"] if dataset_job.ray_available() else [])
    engine = c2.radio("Engine", engines, key=state.DS_ENGINE, format_func=ENGINES.get,
                      horizontal=True)
    if len(engines) == 1:
        c2.caption("Ray is not installed (pip install -r requirements-ray.txt).")
    workers = int(c2.number_input("Ray workers", 1, 64, 2, key=state.DS_WORKERS)) \
        if engine == "ray" else 1
    faith = c3.checkbox("Faithfulness per input", key=state.DS_FAITH,
                        help="Also score each explanation (slower) to list the least faithful.")
    return {"limit": limit or None, "engine": engine, "workers": workers,
            "faithfulness": bool(faith), "seed": widgets.seed_widget()}


def job_section(model: ModelAdapter, data: str | None) -> None:
    methods, params = runner.method_picker(model, key=state.DS_METHODS, n_default=1)
    options = options_section()
    if jobs.notice("dataset"):
        done, total = state.get(state.DS_PROGRESS) or (0, 0)
        st.caption(f"Stopped after {done} of {total} inputs. Run again with the same settings "
                   "to finish: only the missing shards are computed.")
    if not st.button("Run", type="primary", key=state.DS_RUN, icon=":material/play_arrow:",
                     disabled=data is None or not methods):
        return
    with jobs.running("dataset", "Starting the job...", "The data-set job") as job:
        try:
            result = dataset_job.run(model, data, methods, params, options, job)
        except USER_ERRORS as exc:
            job.bar.empty()
            st.error(f"The job failed: {exc}")
            return
        job.show(1.0, done_line(result))
        if result["cancelled"] and not job.control.cancel.is_set():
            st.warning(f"The data-set job stopped at its time limit of "
                       f"{job.control.time_limit:g} s; run again to go on from there.")
        state.put(state.DS_JOB, result)
        state.put(state.DS_CELL, None)


def timing(job: dict[str, Any]) -> str:
    """How many inputs this run computed, and how fast (a rerun resumes, reusing shards)."""
    new = round(job["inputs_per_s"] * job["seconds"])
    if new == 0:
        return "all computed before (same settings, reused)"
    return (f"{new} computed now in {job['seconds']:.1f} s ({job['inputs_per_s']:.1f} inputs/s, "
            f"{ENGINES.get(job['engine'], job['engine'])})")


def done_line(job: dict[str, Any]) -> str:
    if job["cancelled"]:
        return f"Stopped: {job['n_done']} of {job['n_inputs']} inputs done, {timing(job)}"
    return f"Done: {job['n_done']} inputs, {timing(job)}"


def results_section(model: ModelAdapter, job: dict[str, Any]) -> None:
    st.caption(f"Last job: {job['n_done']} of {job['n_inputs']} inputs · "
               f"{', '.join(job['methods'])} · {timing(job)} · "
               f"folder `{job['out']}`")
    if job["skipped"]:
        with st.expander(f"{len(job['skipped'])} input(s) skipped"):
            st.dataframe([{"id": i, "reason": r} for i, r in job["skipped"]], hide_index=True)
    m = dataset_job.metrics(job["out"])
    names = list((m or {}).get("class_names") or model.info.class_names)
    df = dataset_views.frame(job["out"], names)
    if m:
        st.subheader("Evaluation")
        dataset_views.metrics_section(m)
        st.subheader("Confusion matrix")
        dataset_views.cell_section(model, job, m, df)
        st.subheader("Calibration")
        dataset_views.calibration_section(m)
    else:
        st.info("These inputs have no labels: no accuracy or confusion matrix.")
    st.subheader("What the model looks at")
    dataset_views.summaries_section(job["out"])
    dataset_views.lists_section(model, job, df)
    with st.expander("Predictions", expanded=not m):  # unlabelled: the only way to open one
        dataset_views.predictions_section(model, job, df)
    report_section(job)


def report_section(job: dict[str, Any]) -> None:
    st.subheader("Data-set report")
    c1, c2 = st.columns(2)
    c1.download_button("Download report (HTML)", lambda: dataset_job.report(job["out"], ".html"),
                       file_name="dataset-report.html", mime="text/html", key="ds_report_html")
    c2.download_button("Download report (JSON)", lambda: dataset_job.report(job["out"], ".json"),
                       file_name="dataset-report.json", mime="application/json",
                       key="ds_report_json")
    st.caption(f"Or from the command line: `python -m explainers dataset-report {job['out']} "
               "--out report.html`")


def render() -> None:
    model = widgets.model_sidebar()
    st.title("Data set")
    if model is None:
        return
    st.caption(f"Evaluate and explain {model.info.name} on a whole data set: accuracy, where it "
               "fails (click the confusion matrix), calibration, and what it looks at per class.")
    data = data_section()
    job_section(model, data)
    job = state.get(state.DS_JOB)
    if job and job["model"] == cache.key(model):
        try:
            results_section(model, job)
        except USER_ERRORS as exc:
            st.error(f"Could not show the job's results: {exc}")


render()

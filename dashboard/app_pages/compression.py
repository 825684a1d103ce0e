"""Compression page: prune, quantize or distil the model; see accuracy, speed and explanations move."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from dashboard import cache, compression_runs, figures, jobs, runner, state, widgets
from dashboard.inputs import UserInput, sample_key, sample_label
from explainers import Attribution, explain, list_methods
from explainers import compare_models as cm
from models import GlassboxError, ModelAdapter
from models.compress import DistillConfig, distill, quantize_adapter
from models.errors import USER_ERRORS, CancelledError

# session keys of this page (all in dashboard/state.py)
KEPT = state.COMPRESSED_MODELS  # name -> adapter, this session
OP, KIND, SCOPE, AMOUNTS = state.C_OP, state.C_KIND, state.C_SCOPE, state.C_AMOUNTS
MODE, METHODS, N_EXPLAIN = state.C_MODE, state.C_METHODS, state.C_N_EXPLAIN
N_ACC, RUN, RESULT = state.C_N_ACC, state.C_RUN, state.C_RESULT
PICK, SAMPLE, MAPS = state.C_PICK, state.C_SAMPLE, state.C_MAPS
DISTILL_KEYS = state.C_DISTILL
OPS = {"Prune": "prune", "Quantize": "quantize", "Distil": "distill"}
AMOUNT_CHOICES = [0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
PREFERRED = ("saliency", "integrated_gradients", "grad_cam", "feature_ablation")


def op_settings() -> dict[str, Any]:
    """The operation and its knobs."""
    op = OPS[st.radio("Operation", list(OPS), horizontal=True, key=OP)]
    c1, c2, c3 = st.columns(3)
    if op == "prune":
        kind = c1.selectbox("Pruning", ["unstructured", "structured"], key=KIND,
                            help="unstructured: smallest |weights| (L1); structured: whole "
                                 "output channels / rows (L2 norm), the classifier left intact.")
        scope = c2.selectbox("Scope", ["global", "layer"], key=SCOPE, disabled=kind != "unstructured",
                             help="global: one threshold over all layers; layer: each layer alone.")
        amounts = st.multiselect("Amounts (fraction removed)", AMOUNT_CHOICES,  # full width:
                                 default=[0.0, 0.3, 0.5, 0.7, 0.9], key=AMOUNTS,  # no chip cut
                                 format_func=lambda a: f"{a:.0%}")
        return {"op": op, "kind": kind, "scope": scope if kind == "unstructured" else "layer",
                "amounts": sorted(amounts)}
    if op == "quantize":
        mode = c1.selectbox("Precision", ["int8", "bfloat16", "float16"], key=MODE,
                            help="int8: dynamic quantization of Linear/recurrent layers (CPU). "
                                 "Gradient methods fall back to occlusion on int8.")
        return {"op": op, "mode": mode}
    k = DISTILL_KEYS
    return {"op": op, "config": DistillConfig(
        width=int(c1.number_input("Student width", 1, 128, 8, key=k[0])),
        temperature=float(c2.number_input("Temperature", 0.5, 20.0, 4.0, 0.5, key=k[1])),
        alpha=float(c3.slider("Soft-target weight (alpha)", 0.0, 1.0, 0.7, 0.05, key=k[2])),
        epochs=int(c1.number_input("Epochs", 1, 50, 4, key=k[3])),
        max_seconds=float(c2.slider("Time bound (s)", 10, 600, 180, 10, key=k[4])))}


def method_settings(model: ModelAdapter) -> tuple[list[str], int, int | None]:
    available = runner.available_methods(model)  # a user's model: what its preflight passed
    default = [m for m in PREFERRED if m in available][:2]
    c1, c2, c3 = st.columns([3, 1, 1])
    methods = c1.multiselect("Explanation methods (drift)", available, default=default,
                             key=state.widget_key(METHODS, model.info.name))
    n_explain = int(c2.number_input("Inputs explained", 1, 50, 3, key=N_EXPLAIN))
    n_acc = int(c3.number_input("Inputs scored (0 = all)", 0, 100000, 300, 100, key=N_ACC))
    return methods, n_explain, n_acc or None


def run(model: ModelAdapter, s: dict[str, Any], methods: list[str], n_explain: int,
        n_acc: int | None, job: jobs.Job) -> dict[str, Any]:
    """Do the operation and the comparisons, with a progress bar (a jobs.running bar)."""
    bar = job.bar_proxy()
    bar.progress(0.0, text="Compressing...")
    kw = {"n_accuracy": n_acc, "n_explain": n_explain}
    out: dict[str, Any] = {"op": s["op"], "model": cache.key(model), "distill": None}
    if s["op"] == "prune":
        prog = cache.ui_progress(bar, 0.0, 1.0, "Pruning and comparing")
        out["rows"] = cm.sweep(model, s["amounts"], methods, s["kind"], s["scope"],
                               progress=prog, **kw)
    elif s["op"] == "quantize":
        q = quantize_adapter(model, s["mode"])
        prog = cache.ui_progress(bar, 0.0, 1.0, f"Comparing {s['mode']}")
        out["rows"] = [(q, cm.compare(model, q, methods, progress=prog, **kw))]
    else:
        r = distill(model, s["config"], progress=cache.ui_progress(bar, 0.0, 0.7, "Distilling"))
        out["distill"] = r
        prog = cache.ui_progress(bar, 0.7, 0.3, "Comparing the student")
        out["rows"] = [(r.model, cm.compare(model, r.model, methods, progress=prog, **kw))]
    bar.progress(1.0, text="Done")
    return out


def sweep_charts(rows: list[tuple[ModelAdapter, cm.Comparison]]) -> None:
    x = [c.size["sparsity"] for _, c in rows]
    acc = go.Figure(go.Scatter(x=x, y=[c.accuracy for _, c in rows], mode="lines+markers",
                               name="accuracy"))
    acc.update_layout(title="Held-out accuracy vs sparsity", xaxis_title="sparsity",
                      yaxis_title="accuracy", yaxis_range=[0, 1.02])
    drift = go.Figure()
    for name in rows[0][1].drift:
        for metric, dash, ys in (
                ("spearman", "solid", [c.drift[name].spearman for _, c in rows]),
                ("topk_overlap", "dot", [c.drift[name].topk_overlap for _, c in rows])):
            drift.add_trace(go.Scatter(x=x, y=ys, mode="lines+markers", name=f"{name} {metric}",
                                       line={"dash": dash}))
    drift.update_layout(title="Explanation agreement vs sparsity (1 = unchanged)",
                        xaxis_title="sparsity", yaxis_title="agreement", yaxis_range=[-0.05, 1.05])
    left, right = st.columns(2)
    left.plotly_chart(acc, key="compress_acc_chart")
    right.plotly_chart(drift, key="compress_drift_chart")


def cost_charts(rows: list[tuple[ModelAdapter, cm.Comparison]], original: str) -> None:
    names = [original] + [m.info.name for m, _ in rows]
    c0 = rows[0][1]
    lat = go.Figure(go.Bar(x=names, y=[1.0] + [c.latency_ratio for _, c in rows]))
    lat.update_layout(title=f"Latency per batch of {c0.batch_size} (ratio to the original)")
    size = go.Figure([go.Bar(name=label, x=names,
                             y=[c0.size_original[k] / 1024] + [c.size[k] / 1024 for _, c in rows])
                      for label, k in (("saved", "bytes"), ("sparse", "sparse_bytes"),
                                       ("zlib", "zlib_bytes"))])
    size.update_layout(title="Size on disk (KB)", barmode="group")
    left, right = st.columns(2)
    left.plotly_chart(lat, key="compress_latency_chart")
    right.plotly_chart(size, key="compress_size_chart")


def show_map(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """One model's map of the chosen sample: its figures, the same way every page draws them."""
    st.caption(f"{model.info.name} · {a.method} · {a.target_label}")
    figures.render(model, inp, a, key)


def before_after(model: ModelAdapter, rows: list[tuple[ModelAdapter, cm.Comparison]]) -> None:
    """The same held-out input explained by the original and by one compressed model."""
    st.subheader("The same input, before and after")
    samples = cache.get_samples(cache.key(model), 50)
    if not samples:
        st.info("This model has no held-out samples to show.")
        return
    by_name = {m.info.name: (m, c) for m, c in rows}
    c1, c2, c3 = st.columns(3)
    pick = c1.selectbox("Compressed model", list(by_name), index=len(by_name) - 1, key=PICK)
    compressed, comp = by_name[pick]
    i = int(c2.number_input("Held-out sample", 0, len(samples) - 1, 0, key=SAMPLE))
    asked = c3.selectbox("Method", list(comp.drift) or list_methods(model)[:1],
                         key="compress_map_method")
    if asked is None:
        return
    used = comp.drift[asked].used_method if asked in comp.drift else asked
    key = state.params_json({"m": pick, "i": i, "method": used})
    maps = state.get(MAPS) or {}
    if key not in maps and st.button("Explain both", key="compress_maps_run"):
        raw = samples[i][0]
        target = int(model.predict(raw).argmax())
        try:
            maps[key] = (explain(model, raw, used, target), explain(compressed, raw, used, target))
        except USER_ERRORS as exc:
            maps[key] = str(exc)
        state.put(MAPS, maps)
    if key in maps:
        if isinstance(maps[key], str):
            st.error(maps[key])
            return
        inp = UserInput(samples[i][0], sample_key(i), sample_label(model, i, samples[i][1]))
        left, right = st.columns(2)
        with left:
            show_map(model, inp, maps[key][0], "compress_map_before")
        with right:
            show_map(compressed, inp, maps[key][1], "compress_map_after")


def keep_buttons(rows: list[tuple[ModelAdapter, cm.Comparison]]) -> None:
    kept = dict(state.get(KEPT) or {})
    st.subheader("Keep for this session")
    cols = st.columns(min(4, len(rows)))
    for j, (m, _) in enumerate(rows):
        name = m.info.name
        if cols[j % len(cols)].button(f"Keep {name}", key=f"compress_keep::{name}",
                                      disabled=name in kept):
            cache.register(m)  # plain key for the cached predict/explain of other pages
            kept[name] = m
            state.put(KEPT, kept)
            st.rerun()
    if kept:
        st.caption("Kept: " + ", ".join(kept) + " — pick them in the sidebar to explain them.")


def _report_note(res: dict[str, Any]) -> str:
    d = res["distill"]
    if d is None:
        return ""
    return (f"Distilled student: {d.student_params:,} parameters (teacher {d.teacher_params:,}), "
            f"held-out accuracy {d.accuracy:.4f} (teacher {d.teacher_accuracy:.4f}), "
            f"{d.seconds:.1f} s." + (f" {d.notice}" if d.notice else ""))


def report_download(model: ModelAdapter, res: dict[str, Any]) -> None:
    """Build the HTML report of this run on click (kept with the run), then offer it."""
    from explainers.report import to_html_bytes
    from explainers.report.compression import compression_report

    if "report" not in res and st.button("Build HTML report", key="compress_report_build"):
        try:
            with st.spinner("Building the HTML report..."):
                report = compression_report(
                    model, res["rows"], seed=int(state.get(state.SEED) or 0),
                    note=_report_note(res),
                    title=f"Glassbox compression report: {model.info.name} ({res['op']})")
                res["report"] = to_html_bytes(report)
        except (GlassboxError, ValueError) as exc:
            st.error(f"Report failed: {exc}")
    if "report" in res:
        st.download_button("Report (HTML)", res["report"], f"compression-{res['op']}-report.html",
                           "text/html", key="compress_report_dl", type="primary")


def results(model: ModelAdapter, res: dict[str, Any]) -> None:
    rows = res["rows"]
    if res["distill"] is not None:
        d = res["distill"]
        st.success(f"Student: {d.student_params:,} parameters (teacher {d.teacher_params:,}); "
                   f"held-out accuracy {d.accuracy:.1%} (teacher {d.teacher_accuracy:.1%}); "
                   f"{d.seconds:.1f} s, {d.steps_done}/{d.steps_total} steps")
        if d.notice:
            st.warning(d.notice)
    for notice in sorted({n for _, c in rows for n in c.notices}):
        st.info(notice)
    st.dataframe(compression_runs.all_runs(res["model"]), hide_index=True)
    st.caption("Every run on this model in this session, one row per compressed copy; the "
               "charts below show the latest run.")
    if res["op"] == "prune" and len(rows) > 1:
        sweep_charts(rows)
    cost_charts(rows, model.info.name)
    report_download(model, res)
    before_after(model, rows)
    keep_buttons(rows)


def render() -> None:
    model = widgets.model_sidebar()
    st.title("Compression lab")
    if model is None:
        st.info("Pick another model in the sidebar.")
        return
    st.caption("Prune, quantize or distil a copy of the model (the original is never changed), "
               "then compare held-out accuracy, size, latency and how its explanations move.")
    settings = op_settings()
    methods, n_explain, n_acc = method_settings(model)
    clicked = st.button("Run", type="primary", key=RUN, icon=":material/play_arrow:",
                        disabled=settings["op"] == "prune" and not settings["amounts"])
    jobs.notice("compression", unless=clicked)
    if clicked:
        with jobs.running("compression", "Compressing...", "Compressing") as job:
            try:
                state.put(RESULT, run(model, settings, methods, n_explain, n_acc, job))
                compression_runs.add(cache.key(model), settings, state.get(RESULT))
                state.put(MAPS, {})
            except CancelledError:
                raise
            except USER_ERRORS as exc:
                st.error(str(exc))
    res = state.get(RESULT)
    if not res or res["model"] != cache.key(model):
        st.info("Choose an operation and press **Run**.")
        return
    results(model, res)


render()

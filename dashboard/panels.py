"""Result panels (one per method: summary, then its figures via dashboard.figures) and downloads."""
from __future__ import annotations

import html
import io
import json
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from dashboard import cache, figures, notices, state, trust_panel
from dashboard.figures import plot
from dashboard.inputs import UserInput, picture
from dashboard.reports import report_buttons
from dashboard.runner import method_label
from explainers import Attribution
from models import ModelAdapter
from models.errors import USER_ERRORS


def summary_line(a: Attribution) -> str:
    """Time, target, convergence delta and parameters, on one line."""
    parts = [f"{a.seconds:.2f} s", f"target: {a.target_label}"]
    if a.delta is not None:
        parts.append(f"delta: {a.delta:.3g}")
    if "adaptive" in a.extras:  # adaptive IG: the steps kept and how close to complete
        ad = a.extras["adaptive"]
        rel = min(p["relative_delta"] for p in ad["passes"])
        parts.append(f"adaptive: {a.params.get('n_steps')} steps, |delta| {rel:.1%} of the "
                     f"output change ({'within' if ad['converged'] else 'above'} "
                     f"{ad['tolerance']:.0%})")
    if a.base_value is not None:
        parts.append(f"base value: {a.base_value:.3g}")
    shown = {k: v for k, v in a.params.items() if not callable(v)}
    if shown:
        parts.append("params: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    return " · ".join(parts)


def result_panel(model: ModelAdapter, inp: UserInput, a: Attribution | str, name: str,
                 tag: str = "explain") -> None:
    """Header, one-line summary and the figures a.plots() names (an error string: st.error);
    for a fusion result also the cross-modal view, a follow-up computation run on request."""
    st.markdown(f"#### {method_label(name)}")
    if isinstance(a, str):
        st.error(a)
        return
    st.caption(summary_line(a))
    key = state.widget_key(tag, name)
    notices.result_notices(model, inp, a, key, rerun=tag == "explain")
    figures.render(model, inp, a, key)
    if a.kind == "fusion":
        _cross_modal(model, inp, a, key)


# ---------------------------------------------------------------- fusion (image + text)
def _cross_modal(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """Per token: the output change when it is masked, and what it adds to each pixel's score."""
    st.markdown("**Cross-modal: which words move which pixels**")
    args = figures.result_args(model, inp, a)
    asked = set(state.get(state.CROSS_MODAL) or ())
    run = state.params_json(list(args))
    if run not in asked:
        if not st.button("Compute cross-modal view", key=key + "::cross_run",
                         help="Re-runs the method with each token masked ([PAD]), in one batch."):
            return
        state.put(state.CROSS_MODAL, asked | {run})
    try:
        cm = cache.cross_modal(*args, inp.raw)
    except USER_ERRORS as exc:
        st.error(f"Cross-modal view failed: {exc}")
        return
    change = replace(a, values=np.asarray(cm.output_change), units=cm.tokens, modality="text",
                     extras={}, delta=None, base_value=None)
    bar = plot("top_units_bar")(change, len(cm.tokens))
    bar.update_layout(title="output change when the token is masked",
                      xaxis_title=f"p({html.escape(a.target_label)}) drop")
    st.plotly_chart(bar, key=key + "::cross_change")
    t = st.selectbox("Token", range(len(cm.tokens)), index=int(np.argmax(cm.influence)),
                     format_func=lambda i: f"{i}: {cm.tokens[i]}",
                     key=state.widget_key(state.CROSS_TOKEN, key))
    diff = replace(change, values=np.asarray(cm.difference[t]), units=(), modality="image")
    fig = plot("heatmap_overlay")(diff, picture(model, inp.raw, inp.key), 0.7)
    fig.update_layout(title=f"what {html.escape(repr(cm.tokens[t]))} adds to each pixel")
    st.plotly_chart(figures.square(fig), key=key + "::cross_map")


def result_grid(model: ModelAdapter, inp: UserInput, items: list[tuple[str, Any]],
                tag: str = "explain", per_row: int = 2) -> None:
    """One panel per method, `per_row` panels to a row."""
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, (name, a) in zip(cols, items[start:start + per_row], strict=False):
            with col.container(border=True):
                result_panel(model, inp, a, name, tag)


# ---------------------------------------------------------------- downloads
def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v if isinstance(v, (str, int, float, bool, type(None), list, tuple)) else str(v)


def attribution_dict(a: Attribution) -> dict[str, Any]:
    return {
        "model": a.model_name, "method": a.method, "target": a.target,
        "target_label": a.target_label, "params": _plain(a.params), "delta": a.delta,
        "base_value": a.base_value, "seconds": a.seconds, "units": _plain(a.units),
        "values": _plain(np.asarray(a.values) if not isinstance(a.values, dict) else a.values),
    }


def attributions_json(inp_label: str, results: list[Attribution]) -> bytes:
    doc = {"input": inp_label, "attributions": [attribution_dict(a) for a in results]}
    return json.dumps(doc, indent=1).encode("utf-8")


def attributions_npz(results: list[Attribution]) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    for a in results:
        values = a.values if isinstance(a.values, dict) else {"values": a.values}
        for part, v in values.items():
            arrays[f"{a.method}__{part}"] = np.asarray(v)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def download_buttons(model: ModelAdapter, inp: UserInput, results: list[Attribution],
                     tag: str = "explain") -> None:
    """Raw attributions as JSON/NPZ, and reports (HTML/PDF/JSON) built on request."""
    if not results:
        return
    stem = f"glassbox-{model.info.name}-{inp.key[:8]}"
    cols = st.columns(4)
    cols[0].download_button("Attributions (JSON)", attributions_json(inp.label, results),
                            f"{stem}.json", "application/json", key=f"{tag}::dl_json")
    cols[1].download_button("Attributions (NPZ)", attributions_npz(results), f"{stem}.npz",
                            "application/octet-stream", key=f"{tag}::dl_npz")
    report_buttons(model, inp, results, stem, cols[2:], tag)


def trust_results(model: ModelAdapter, inp: UserInput, found: dict[str, Any], subject: str
                  ) -> None:
    """One trust-scoring run: its error lines, its sections and the report downloads (the Trust
    page for an input, the generation view for a continuation)."""
    for line in found["errors"]:
        st.error(line)
    if found["error"]:
        st.error(found["error"])
    if found["report"] is None:
        return
    trust_panel.sections(found["report"], subject)
    st.subheader("Download")
    download_buttons(model, inp, found["attributions"], tag="trust")

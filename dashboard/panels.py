"""Result panels (one per method, fitting the attribution's kind) and the download buttons."""
from __future__ import annotations

import html
import io
import json
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from dashboard import cache, state
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
    if a.base_value is not None:
        parts.append(f"base value: {a.base_value:.3g}")
    shown = {k: v for k, v in a.params.items() if not callable(v)}
    if shown:
        parts.append("params: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    return " · ".join(parts)


def result_panel(model: ModelAdapter, inp: UserInput, a: Attribution | str, name: str,
                 tag: str = "explain") -> None:
    """Header, one-line summary and the plots that fit this result (an error string: st.error)."""
    st.markdown(f"#### {method_label(name)}")
    if isinstance(a, str):
        st.error(a)
        return
    st.caption(summary_line(a))
    key = state.widget_key(tag, name)
    if a.kind == "fusion":
        _fusion_plots(model, inp, a, key)
    if a.kind == "image":
        _image_plots(model, inp, a, key)
    if a.kind == "tokens":
        _token_plots(a, key)
    if a.kind == "features":
        row = inp.raw if isinstance(inp.raw, dict) else {}
        values = [row.get(u) for u in a.units] if row else None
        st.plotly_chart(plot("waterfall")(a, 12, feature_values=values), key=key + "::waterfall")
        st.plotly_chart(plot("top_units_bar")(a, 10), key=key + "::bar")


def _image_plots(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """The heatmap over the picture (opacity slider), the raw map below it."""
    opacity = st.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key=state.widget_key(
        state.OPACITY, key))
    st.plotly_chart(_square(plot("heatmap_overlay")(a, picture(model, inp.raw), opacity)),
                    key=key + "::overlay")
    st.plotly_chart(_square(plot("raw_map")(a), 300), key=key + "::raw")


def _square(fig: Any, height: int = 380) -> Any:
    """A fixed height so square images fill the panel instead of shrinking to a thumbnail."""
    fig.update_layout(height=height)
    return fig


def _token_plots(a: Attribution, key: str) -> None:
    st.markdown(plot("token_highlight")(a), unsafe_allow_html=True)  # escaped by the plot
    st.plotly_chart(plot("top_units_bar")(a, 10), key=key + "::bar")


# ---------------------------------------------------------------- fusion (image + text)
def split_fusion(a: Attribution) -> tuple[Attribution, Attribution]:
    """A fusion result as an image result [H, W] and a token result [T]: same method, target,
    params and numbers, so the image and token plots take each part as they are."""
    tokens = a.units.get("text", ()) if isinstance(a.units, dict) else ()
    image = replace(a, values=np.asarray(a.values["image"]), units=(), modality="image")
    text = replace(a, values=np.asarray(a.values["text"]), units=tuple(tokens), modality="text")
    return image, text


def _fusion_plots(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """Both parts of one attribution, the modality shares, and the cross-modal view on request."""
    image, text = split_fusion(a)
    st.markdown("**Image part**")
    _image_plots(model, inp, image, key)
    st.markdown("**Text part**")
    _token_plots(text, key)
    _share_plots(model, inp, a, key)
    _cross_modal(model, inp, a, key)


def _result_args(model: ModelAdapter, inp: UserInput, a: Attribution) -> tuple[Any, ...]:
    """The plain cache key of a follow-up computation on a result: model, input, method,
    target (resolved), the method's resolved params."""
    return cache.key(model), inp.key, a.method, int(a.target), state.params_json(a.params)


def _share_plots(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """Share of |attribution| and of the output change under modality ablation, as bars."""
    try:
        shares = cache.modality_share(*_result_args(model, inp, a), inp.raw, a)
    except USER_ERRORS as exc:
        st.error(f"Modality share failed: {exc}")
        return
    left, right = st.columns(2)
    attribution = plot("modality_share")(shares["attribution"])
    attribution.update_layout(title="share of |attribution|")  # fits half a panel
    left.plotly_chart(attribution, key=key + "::share")
    ablation = plot("modality_share")(shares["ablation"])
    ablation.update_layout(title="share of output change")
    right.plotly_chart(ablation, key=key + "::share_ablation")
    st.caption("Left: share of total |attribution|. Right: share of the drop in p(target) when "
               "the modality is removed (black image / all-[PAD] text).")
    p = shares["probability"]
    st.caption(f"p({html.escape(a.target_label)}): both {p['full']:.1%} · image only "
               f"{p['image_only']:.1%} · text only {p['text_only']:.1%} · neither "
               f"{p['neither']:.1%}")


def _cross_modal(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """Per token: the output change when it is masked, and what it adds to each pixel's score."""
    st.markdown("**Cross-modal: which words move which pixels**")
    args = _result_args(model, inp, a)
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
    fig = plot("heatmap_overlay")(diff, picture(model, inp.raw), 0.7)
    fig.update_layout(title=f"what {html.escape(repr(cm.tokens[t]))} adds to each pixel")
    st.plotly_chart(_square(fig), key=key + "::cross_map")


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

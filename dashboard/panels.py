"""Result panels (one per method, fitting the attribution's kind) and the download buttons."""
from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import streamlit as st

from dashboard import state
from dashboard.figures import plot
from dashboard.inputs import UserInput, picture
from explainers import Attribution, get_method
from models import ModelAdapter


def method_label(name: str) -> str:
    try:
        return get_method(name).label
    except KeyError:
        return name


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
    if a.kind in ("image", "fusion"):
        _image_plots(model, inp, a, key)
    if a.kind in ("tokens", "fusion"):
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
    if a.kind == "fusion":
        st.plotly_chart(plot("modality_share")(modality_shares(a)), key=key + "::share")


def _square(fig: Any, height: int = 380) -> Any:
    """A fixed height so square images fill the panel instead of shrinking to a thumbnail."""
    fig.update_layout(height=height)
    return fig


def _token_plots(a: Attribution, key: str) -> None:
    st.markdown(plot("token_highlight")(a), unsafe_allow_html=True)  # escaped by the plot
    if a.kind == "tokens":
        st.plotly_chart(plot("top_units_bar")(a, 10), key=key + "::bar")


def modality_shares(a: Attribution) -> dict[str, float]:
    """Share of total |attribution| per modality of a fusion result."""
    totals = {k: float(np.abs(np.asarray(v, float)).sum()) for k, v in a.values.items()}
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in totals.items()}


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
    """Raw attributions as JSON/NPZ; reports (HTML/JSON/PDF) when explainers.report exists."""
    if not results:
        return
    stem = f"glassbox-{model.info.name}-{inp.key[:8]}"
    cols = st.columns(4)
    cols[0].download_button("Attributions (JSON)", attributions_json(inp.label, results),
                            f"{stem}.json", "application/json", key=f"{tag}::dl_json")
    cols[1].download_button("Attributions (NPZ)", attributions_npz(results), f"{stem}.npz",
                            "application/octet-stream", key=f"{tag}::dl_npz")
    from dashboard.reports import report_buttons

    report_buttons(model, inp, results, stem, cols[2:], tag)

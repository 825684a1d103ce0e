"""Report downloads (HTML/PDF/JSON) built by explainers.report, each on an explicit click."""
from __future__ import annotations

import importlib
from typing import Any

import streamlit as st

from dashboard import cache, state
from dashboard.inputs import UserInput
from explainers import Attribution
from models import GlassboxError, ModelAdapter


def report_module() -> Any | None:
    """explainers.report when it exists, else None."""
    try:
        return importlib.import_module("explainers.report")
    except ModuleNotFoundError as exc:
        if exc.name != "explainers.report":
            raise
        return None


def _trust(model: ModelAdapter, inp: UserInput) -> dict[str, Any]:
    """The Trust page's last run for this model and input ({} if none): its report and key."""
    from dashboard.trust_panel import current

    return current(cache.key(model), inp.key) or {}


def _build(model: ModelAdapter, inp: UserInput, results: list[Attribution], fmt: str) -> bytes:
    rep = report_module()
    report = rep.build_report(model, inp.raw, results, trust=_trust(model, inp).get("report"),
                              seed=int(state.get(state.SEED) or 0))
    if fmt == "html":
        return rep.to_html_bytes(report)
    if fmt == "pdf":
        return rep.to_pdf_bytes(report)
    return rep.to_json_bytes(report)[0]


def report_buttons(model: ModelAdapter, inp: UserInput, results: list[Attribution], stem: str,
                   cols: list[Any], tag: str) -> None:
    """A 'build' button per format; once built, a download button for the file."""
    if report_module() is None:
        cols[0].caption("HTML/PDF reports: coming with explainers.report.")
        return
    key = state.params_json({"input": inp.key, "model": cache.key(model), "tag": tag,
                             "results": [(a.method, a.params.get("seed"), a.target)
                                         for a in results],
                             "trust": _trust(model, inp).get("key")})
    files = state.get(state.REPORT) or {}
    if files.get("key") != key:
        files = {"key": key}
    with cols[0]:
        fmt = st.selectbox("Report format", ["html", "pdf", "json"], key=f"{tag}::report_fmt",
                           label_visibility="collapsed")
    with cols[1]:
        if fmt not in files and st.button(f"Build {fmt.upper()} report", key=f"{tag}::build"):
            try:
                with st.spinner(f"Building the {fmt.upper()} report..."):
                    files[fmt] = _build(model, inp, results, fmt)
            except (GlassboxError, ValueError, OSError) as exc:
                st.error(f"Report failed: {exc}")
            state.put(state.REPORT, files)
        if fmt in files:
            mime = {"html": "text/html", "pdf": "application/pdf", "json": "application/json"}
            st.download_button(f"Report ({fmt.upper()})", files[fmt], f"{stem}-report.{fmt}",
                               mime[fmt], key=f"{tag}::dl_report_{fmt}", type="primary")

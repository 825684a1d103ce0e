"""Report downloads (HTML/PDF/JSON) built by explainers.report, each on an explicit click."""
from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import cache, state
from dashboard.inputs import UserInput
from dashboard.trust_panel import current
from explainers import Attribution
from explainers import report as rep
from models import GlassboxError, ModelAdapter

MIME = {"html": "text/html", "pdf": "application/pdf", "json": "application/json"}


def _trust(model: ModelAdapter, inp: UserInput) -> dict[str, Any]:
    """The Trust page's last run for this model and input ({} if none): its report and key."""
    return current(cache.key(model), inp.key) or {}


def _build(model: ModelAdapter, inp: UserInput, results: list[Attribution], fmt: str) -> bytes:
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
            st.download_button(f"Report ({fmt.upper()})", files[fmt], f"{stem}-report.{fmt}",
                               MIME[fmt], key=f"{tag}::dl_report_{fmt}", type="primary")

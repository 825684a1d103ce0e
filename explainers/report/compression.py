"""Compression lab results in reports: a table per compressed model, sweep charts, every number."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from explainers.compare_models import Comparison
from explainers.plots import esc
from explainers.report.model import Report, Section, build_report
from models.base import HasSamples
from models.errors import InputError

TITLE = "Compression"
Result = Comparison | Sequence[Comparison] | Sequence[tuple[Any, Comparison]]


def comparisons(result: Result) -> list[Comparison]:
    """The Comparisons of compare() (one), sweep() ((model, Comparison) pairs) or a list."""
    if isinstance(result, Comparison):
        return [result]
    out = [r[1] if isinstance(r, tuple) and len(r) == 2 else r for r in result]
    bad = [type(c).__name__ for c in out if not isinstance(c, Comparison)]
    if bad or not out:
        raise InputError(f"compression_section takes a Comparison, a list of them or sweep() "
                         f"pairs; got {bad or 'an empty list'}")
    return out


def result_data(result: Result) -> dict[str, Any]:
    """JSON-ready numbers: Comparison.to_dict(), or {"results": [...]} for several."""
    if isinstance(result, Comparison):
        return result.to_dict()
    return {"results": [c.to_dict() for c in comparisons(result)]}


def num(x: float | None, digits: int = 4) -> str:
    """A number for the table; n/a for missing (None / NaN)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _drift_columns(rows: list[Comparison]) -> list[str]:
    names: list[str] = []
    for c in rows:
        names += [m for m in c.drift if m not in names]
    return names


def _row(c: Comparison, methods: list[str]) -> list[str]:
    cells = [c.compressed, num(c.size.get("sparsity")), num(c.accuracy), num(c.agreement),
             num(c.size["bytes"] / 1024, 1), num(c.size["sparse_bytes"] / 1024, 1),
             num(c.latency_ratio, 2)]
    for m in methods:
        d = c.drift.get(m)
        via = "" if d is None or d.used_method == m else f" (via {d.used_method})"
        cells.append("n/a" if d is None else
                     f"{num(d.spearman, 3)} / {num(d.topk_overlap, 3)}{via}")
    return cells


def table_html(rows: list[Comparison]) -> str:
    """One row per compressed model; every cell escaped."""
    methods = _drift_columns(rows)
    head = ["model", "sparsity", "accuracy", "agreement", "size (KB)", "sparse size (KB)",
            "latency ratio"] + [f"{m} drift: Spearman / top-k" for m in methods]
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in _row(c, methods)) + "</tr>"
                   for c in rows)
    return f'<table class="compression"><tr>{th}</tr>{body}</table>'


def _intro(rows: list[Comparison]) -> str:
    c = rows[0]
    return (f"Original: {c.original}, held-out accuracy {num(c.accuracy_original)} on "
            f"{c.n_accuracy} inputs; size {num(c.size_original['bytes'] / 1024, 1)} KB; "
            f"latency ratio = compressed / original time per batch of {c.batch_size}; "
            f"drift over {max((d.n for r in rows for d in r.drift.values()), default=0)} "
            "inputs (1 = unchanged).")


def notices_html(rows: list[Comparison]) -> str:
    notes = sorted({f"{c.compressed}: {n}" for c in rows for n in c.notices})
    if not notes:
        return ""
    return '<ul class="notices">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"


def accuracy_figure(rows: list[Comparison]) -> go.Figure:
    """Held-out accuracy vs sparsity, the original's accuracy as a dashed line."""
    x = [c.size.get("sparsity", 0.0) for c in rows]
    fig = go.Figure(go.Scatter(x=x, y=[c.accuracy for c in rows], mode="lines+markers",
                               name="compressed"))
    fig.add_hline(y=rows[0].accuracy_original, line_dash="dash",
                  annotation_text="original")
    fig.update_layout(title="Held-out accuracy vs sparsity", xaxis_title="sparsity",
                      yaxis_title="accuracy", yaxis_range=[0, 1.02], height=380)
    return fig


def drift_figure(rows: list[Comparison]) -> go.Figure:
    """Spearman (solid) and top-k overlap (dotted) per method vs sparsity."""
    x = [c.size.get("sparsity", 0.0) for c in rows]
    fig = go.Figure()
    for m in _drift_columns(rows):
        for metric, dash in (("spearman", "solid"), ("topk_overlap", "dot")):
            y = [getattr(c.drift[m], metric) if m in c.drift else None for c in rows]
            fig.add_trace(go.Scatter(x=x, y=[None if v is None or math.isnan(v) else v
                                             for v in y],
                                     mode="lines+markers", name=f"{m} {metric}",
                                     line={"dash": dash}))
    fig.update_layout(title="Explanation agreement vs sparsity (1 = unchanged)",
                      xaxis_title="sparsity", yaxis_title="agreement",
                      yaxis_range=[-0.05, 1.05], height=380)
    return fig


def compression_section(result: Result, title: str = TITLE, note: str = "") -> Section:
    """A report Section for compare() / sweep() results; `note` adds a line (e.g. distillation)."""
    rows = comparisons(result)
    figures = [accuracy_figure(rows), drift_figure(rows)] if len(rows) > 1 else []
    html = table_html(rows) + notices_html(rows)
    text = _intro(rows) + (f" {note}" if note else "")
    return Section(title, text=text, html=html, figures=figures, data=result_data(result))


def compression_report(original: Any, result: Result, seed: int = 0, note: str = "",
                       title: str = "") -> Report:
    """A Report on one held-out input of `original`: its maps for every method whose drift
    was measured (methods it cannot run are left to the section's notices), then the section."""
    import numpy as np

    from explainers.base import explain, get_method

    rows = comparisons(result)
    samples = original.samples(1, seed) if isinstance(original, HasSamples) else []
    if not samples:
        raise InputError(f"{original.info.name} has no held-out samples to report on")
    raw = samples[0][0]
    target = int(np.argmax(original.predict(raw)))
    attributions = []
    for m in _drift_columns(rows):
        if get_method(m).why_not(original):
            continue
        extra = {"seed": seed} if get_method(m).stochastic else {}
        attributions.append(explain(original, raw, m, target=target, **extra))
    section = compression_section(result, note=note)
    return build_report(original, raw, attributions, seed=seed, sections=[section],
                        title=title or f"Glassbox compression report: {original.info.name}")

"""Render a Report to one self-contained, offline HTML page (plotly.js inlined once)."""
from __future__ import annotations

import functools
import json
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explainers import plots as P
from explainers.base import Attribution
from explainers.report.inputs import raw_from_record, raw_image, thumbnail_uri
from explainers.report.model import Report
from explainers.report.style import CSP, CSS

esc = P.esc
CONFIG = {"displaylogo": False, "showSendToCloud": False, "responsive": True,
          "plotlyServerURL": ""}
# every http(s) scheme in plotly.js except XML namespace names (never fetched); see plotly_js()
_URL = re.compile(r"https?://(?!www\.w3\.org/)")


@functools.cache
def plotly_js() -> str:
    """plotly.js for inlining, with every http(s) URL made inert.

    The bundle carries URLs of map tile/style servers, the topojson CDN, Chart Studio and licence
    links; our charts use none of them. Their scheme becomes `offline:` so the report holds no
    http(s) URL to another host; `http://www.w3.org/...` XML namespace names stay (never fetched).
    `</script` cannot occur inside (checked), so the bundle is safe in a <script> element.
    """
    from plotly.offline import get_plotlyjs

    js = _URL.sub("offline:", get_plotlyjs())
    if "</script" in js.lower():
        raise RuntimeError("plotly.js contains '</script'; cannot inline it safely")
    return js


def figure_html(fig: go.Figure, div_id: str) -> str:
    """One interactive chart (its data JSON escapes <, > and /, so user text cannot break out)."""
    height = fig.layout.height or 420
    return fig.to_html(include_plotlyjs=False, full_html=False, config=CONFIG, div_id=div_id,
                       default_height=f"{int(height)}px", default_width="100%")


def _units_of(a: Attribution) -> tuple[str, ...]:
    return tuple(a.units.get("text", ())) if isinstance(a.units, dict) else tuple(a.units)


def attribution_figures(a: Attribution, report: Report) -> list[go.Figure | str]:
    """The plots that fit one result: Figures, or escaped HTML (highlighted tokens)."""
    out: list[go.Figure | str] = []
    for name in a.plots():
        if name == "heatmap_overlay":
            if report.display_image is not None:
                out.append(P.heatmap_overlay(a, report.display_image))
        elif name == "token_highlight":
            out.append(P.token_highlight(a))
        elif name == "waterfall":
            out.append(P.waterfall(a, feature_values=report.input.get("row")))
        elif name == "modality_share":
            totals = {k: float(np.abs(np.asarray(v, float)).sum()) for k, v in a.values.items()}
            whole = sum(totals.values()) or 1.0
            out.append(P.modality_share({k: v / whole for k, v in totals.items()}))
        elif name == "attention_grid":
            tokens = a.extras.get("sequence_tokens") or _units_of(a)  # generation: + continuation
            out.append(P.attention_grid(np.asarray(a.extras["attention"]), tokens))
        elif name == "generation_heatmap" and "token_attr" not in a.extras:
            continue  # lime / kernel_shap, or per_token=False: the sequence highlight only
        else:
            out.append(getattr(P, name)(a))
    return out


def _table(rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v))}</td></tr>" for k, v in rows.items())
    return f'<table class="kv">{body}</table>'


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=str)
    return str(v)


def _input_html(report: Report) -> str:
    rec, parts = report.input, []
    image = raw_image(raw_from_record(rec, report.arrays), rec["kind"]) \
        if rec["kind"] in ("image", "fusion") else None
    if image is not None:
        parts.append(f'<img class="thumb" alt="input image" src="{thumbnail_uri(image)}">')
    if "text" in rec:
        parts.append(f'<blockquote class="text">{esc(rec["text"])}</blockquote>')
    if "row" in rec:
        parts.append(_table(rec["row"]))
    return "".join(parts)


class _Figures:
    """Numbers the chart divs of one page."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, item: go.Figure | str) -> str:
        if isinstance(item, str):
            return f'<div class="fig tokens">{item}</div>'
        self.count += 1
        return f'<div class="fig">{figure_html(item, f"gb-fig-{self.count}")}</div>'


def _method_section(a: Attribution, report: Report, figs: _Figures) -> str:
    info = {"target": f"{a.target} ({a.target_label})", "time (s)": round(a.seconds, 4)}
    if a.modality == "generation":
        info["target"] = f"continuation {a.target_label!r}"
    if a.delta is not None:
        info["convergence delta"] = float(a.delta)
    if a.base_value is not None:
        info["base value"] = float(a.base_value)
    if a.output is not None:
        info["model output"] = float(a.output)
    params = {k: v for k, v in a.params.items() if not callable(v)}
    trust = report.trust.get(a.method, {})
    body = "".join(figs.html(f) for f in attribution_figures(a, report))
    return (f'<section class="page method"><h2>{esc(a.method)}</h2>'
            f'<div class="meta">{_table(info)}{_table(params) if params else ""}'
            f'{_table(trust) if trust else ""}</div><div class="figs">{body}</div></section>')


def _generation_summary(report: Report) -> str:
    m = report.model
    card = {"name": m["name"], "source": m["source"], "sha256": m["sha256"] or "(not recorded)",
            "modality": m["modality"], "device": m["device"]}
    p = float(report.probabilities[0]) if len(report.probabilities) else float("nan")
    return (f'<section class="summary"><h1>{esc(report.title)}</h1>'
            f'<p class="prediction">Continuation: <b>{esc(report.predicted_label)}</b> '
            f'(p = {p:.3g})</p><div class="cols"><div><h2>Prompt</h2>{_input_html(report)}'
            f'</div><div><h2>Model</h2>{_table(card)}</div></div></section>')


def _classes(names: list[Any], shown: int = 20) -> str:
    """The class names for the model card: all of a few, the count and the first of many (the
    1000 ImageNet names ran over four PDF pages); the JSON report keeps every name."""
    if len(names) <= shown:
        return ", ".join(map(str, names))
    return f"{len(names)} classes: " + ", ".join(map(str, names[:shown])) + ", ..."


def _summary_section(report: Report, figs: _Figures) -> str:
    if report.model.get("modality") == "generation":
        return _generation_summary(report)
    m = report.model
    card = {"name": m["name"], "source": m["source"], "sha256": m["sha256"] or "(not recorded)",
            "modality": m["modality"], "device": m["device"],
            "classes": _classes(m["class_names"])}
    probs = P.probabilities_bar(report.probabilities, m["class_names"],
                                k=min(5, len(m["class_names"])))
    p = float(report.probabilities[report.predicted])
    return (f'<section class="summary"><h1>{esc(report.title)}</h1>'
            f'<p class="prediction">Prediction: <b>{esc(report.predicted_label)}</b> '
            f'({p:.1%})</p><div class="cols"><div><h2>Input</h2>{_input_html(report)}</div>'
            f'<div><h2>Model</h2>{_table(card)}</div></div>{figs.html(probs)}</section>')


def _extra_section(title: str, text: str, raw_html: str, items: list[Any], figs: _Figures) -> str:
    body = f"<p>{esc(text)}</p>" if text else ""
    body += raw_html + "".join(figs.html(f) for f in items)
    return f'<section class="page extra"><h2>{esc(title)}</h2>{body}</section>'


def render_html(report: Report) -> str:
    """The whole report as one HTML string: no external resources, charts interactive."""
    figs = _Figures()
    parts = [_summary_section(report, figs)]
    parts += [_method_section(a, report, figs) for a in report.attributions]
    parts += [_extra_section(s.title, s.text, s.html, s.figures, figs) for s in report.sections]
    parts.append(_extra_section("Environment", "", _table(report.environment), [], figs))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="glassbox-figures" content="{figs.count}">'
        f"<title>{esc(report.title)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{plotly_js()}</script></head>'
        f'<body>{"".join(parts)}</body></html>'
    )

"""Data-set report from a job folder: one offline HTML page (plotly.js inlined once) or JSON."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from explainers.plots import dataset as DP
from explainers.plots._common import esc
from explainers.report.dataset_cards import card_pictures
from explainers.report.html import figure_html, plotly_js
from explainers.report.style import CSP, CSS
from models.errors import InputError

FORMAT = "glassbox-dataset-report/1"
FORMATS = (".html", ".json")
MAX_PREDICTIONS = 5000  # rows of the predictions table kept in the JSON (all are in the shards)
MAX_HTML_ROWS = 200  # rows of it shown in the HTML
MAX_CARDS = 12  # misclassified / least-faithful inputs shown with their picture and maps
EXTRA_CSS = """
table.grid { border-collapse: collapse; font-size: .8em; margin: 6px 0 }
table.grid th, table.grid td { border: 1px solid #ddd; padding: 2px 6px; text-align: right }
table.grid th { background: #f4f4f4 } table.grid td.l, table.grid th.l { text-align: left }
.cards { display: flex; flex-wrap: wrap; gap: 10px } .card { border: 1px solid #ddd; padding: 6px;
  font-size: .8em; width: 300px; word-break: break-all } .card figure { display: inline-block;
  margin: 4px 4px 0 0 } .card img { width: 88px; image-rendering: pixelated; display: block;
  border: 1px solid #ccc }
.card figcaption { font-size: .85em; color: #555 }
"""


def plain(v: Any) -> Any:
    """JSON-safe copy: numpy -> python, tuples -> lists, NaN/inf -> None."""
    if isinstance(v, np.ndarray):
        return plain(v.tolist())
    if isinstance(v, np.generic):
        return plain(v.item())
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    return str(v)


def _name(names: list[str], i: Any) -> str | None:
    if i is None or (isinstance(i, float) and not math.isfinite(i)):
        return None
    i = int(i)
    return str(names[i]) if 0 <= i < len(names) else str(i)


def prediction_rows(df: Any, class_names: list[str]) -> list[dict[str, Any]]:
    """id, true and predicted class names, confidence, correct: one dict per row of load()."""
    rows = []
    for r in df[["id", "label", "pred", "confidence"]].itertuples(index=False):
        label = None if r.label is None or (isinstance(r.label, float) and math.isnan(r.label)) \
            else int(r.label)
        rows.append({"id": str(r.id), "true": _name(class_names, label),
                     "predicted": _name(class_names, r.pred), "confidence": float(r.confidence),
                     "correct": None if label is None else bool(label == int(r.pred))})
    return rows


def method_views(summ: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """dataset.summaries() regrouped per method: class_mean {class: map}, global [(unit, mean
    |attr|)], top_units {class: [(unit, mean)]}, least_faithful [(id, score)] (those present)."""
    out: dict[str, dict[str, Any]] = {}
    for m in summ.get("methods") or []:
        view: dict[str, Any] = {}
        maps = (summ.get("class_maps") or {}).get(m) or {}
        if maps:
            view["class_mean"] = {c: d["mean"] for c, d in maps.items()}
        imp = (summ.get("importance") or {}).get(m) or {}
        if imp.get("global"):
            view["global"] = [(d["unit"], d["mean_abs"]) for d in imp["global"]]
        top = {c: [(d["unit"], d["mean"]) for d in rows]
               for c, rows in (imp.get("top_per_class") or {}).items() if rows}
        if top:
            view["top_units"] = top
        faith = (summ.get("least_faithful") or {}).get(m) or []
        if faith:
            view["least_faithful"] = [(str(d["id"]), float(d["score"])) for d in faith]
        out[m] = view
    return out


def _about(man: dict[str, Any]) -> dict[str, Any]:
    """The manifest lines a reader needs to know what ran (and to run it again)."""
    model, data = man.get("model") or {}, man.get("data") or {}
    runs = man.get("runs") or [{}]
    about = {"model": model.get("name"), "model sha256": model.get("sha256"),
             "modality": model.get("modality"), "data": data.get("path"),
             "data kind": data.get("kind"), "methods": man.get("methods"),
             "parameters": man.get("params_used") or man.get("params"), "seed": man.get("seed"),
             "limit": man.get("limit"), "inputs": man.get("n_inputs"),
             "done": man.get("n_done"), "engine": runs[-1].get("engine", man.get("engine")),
             "workers": man.get("workers"), "device": runs[-1].get("device"),
             "inputs/s (last run)": runs[-1].get("inputs_per_s"),
             "faithfulness": man.get("faithfulness"), "created": man.get("created")}
    return {k: v for k, v in about.items() if v is not None}


def collect(out: str | Path) -> dict[str, Any]:
    """The report as a JSON-safe dict, read from a job folder written by dataset.run_job."""
    from explainers import dataset

    out = Path(out)
    manifest = dataset.read_manifest(out)  # InputError when `out` is not a job folder
    metrics = dataset.read_metrics(out)
    df = dataset.load(out)
    model = manifest.get("model") or {}
    names = [str(c) for c in (metrics or {}).get("class_names") or model.get("class_names") or []]
    rows = prediction_rows(df, names)
    summ = dataset.summaries(out) if len(df) else {}
    return plain({
        "format": FORMAT,
        "title": f"Data set report: {model.get('name', '?')} on "
                 f"{(manifest.get('data') or {}).get('path', '?')}",
        "about": _about(manifest), "manifest": manifest,
        "n_rows": len(rows), "metrics": metrics, "summaries": method_views(summ),
        "skipped": manifest.get("skipped") or [],
        "misclassified": [r for r in rows if r["correct"] is False][:MAX_PREDICTIONS],
        "predictions": rows[:MAX_PREDICTIONS], "predictions_truncated": len(rows) > MAX_PREDICTIONS,
    })


# ---------------------------------------------------------------- HTML
def _kv(rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v if isinstance(v, str) else json.dumps(v))}"
                   "</td></tr>" for k, v in rows.items())
    return f'<table class="kv">{body}</table>'


def _grid(head: list[str], rows: list[list[Any]], cls: str = "grid") -> str:
    th = "".join(f'<th class="l">{esc(h)}</th>' if i == 0 else f"<th>{esc(h)}</th>"
                 for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(
        f'<td class="l">{esc(v)}</td>' if i == 0 else f"<td>{esc(_num(v))}</td>"
        for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}"><tr>{th}</tr>{body}</table>'


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


class _Figs:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig: Any) -> str:
        self.count += 1
        return f'<div class="fig">{figure_html(fig, f"gb-ds-fig-{self.count}")}</div>'


def _metrics_html(m: dict[str, Any], figs: _Figs) -> str:
    names = [str(c) for c in m["class_names"]]
    cm = m["confusion_matrix"]
    per = m.get("per_class") or {}
    table = _grid(["class", "precision", "recall", "f1", "support"],
                  [[c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")]
                   for c, v in per.items()])
    cm_table = _grid(["true \\ predicted", *names],
                     [[names[i], *[int(x) for x in row]] for i, row in enumerate(cm)],
                     "grid confusion")
    parts = [f'<section><h2>Evaluation</h2><p class="prediction">Accuracy '
             f'<b>{float(m["accuracy"]):.2%}</b> on {int(np.sum(cm))} labelled inputs</p>'
             f'<div class="cols"><div>{table}</div><div>{figs(DP.per_class_bars(per))}</div>'
             f'</div></section>' if per else "",
             f'<section><h2>Confusion matrix</h2><p>Rows: true class; columns: predicted.</p>'
             f'{cm_table}{figs(DP.confusion_matrix(cm, names))}</section>']
    cal = m.get("calibration")
    if cal and any(b.get("count") for b in cal.get("bins", [])):
        parts.append(f'<section><h2>Calibration</h2><p>Expected calibration error (ECE): '
                     f'<b>{float(cal["ece"]):.4f}</b></p>{figs(DP.reliability_diagram(cal))}'
                     f'</section>')
    return "".join(parts)


def _summary_html(method: str, s: dict[str, Any], figs: _Figs) -> str:
    items = []
    if s.get("class_mean"):
        items.append(figs(DP.class_mean_maps(s["class_mean"],
                                             f"{method}: mean map per predicted class")))
    if s.get("global"):
        items.append(figs(DP.units_bar(s["global"], f"{method}: mean |attribution|")))
    if s.get("top_units"):
        items.append(figs(DP.top_units_per_class(s["top_units"])))
    return f'<section class="page"><h2>Summary: {esc(method)}</h2>{"".join(items)}</section>' \
        if items else ""


def _cards(title: str, rows: list[dict[str, Any]], pics: dict[str, dict[str, str]],
           scores: dict[str, float] | None = None) -> str:
    cards = []
    for r in rows[:MAX_CARDS]:
        p = pics.get(r["id"], {})
        imgs = "".join(f'<figure><img alt="{esc(k)}" src="{v}"><figcaption>{esc(k)}</figcaption>'
                       "</figure>" for k, v in p.items())
        score = f"<br>faithfulness {scores[r['id']]:.3g}" if scores and r["id"] in scores else ""
        cards.append(f'<div class="card"><b>{esc(r["id"])}</b><br>true {esc(r["true"])} · '
                     f'predicted {esc(r["predicted"])} ({r["confidence"]:.1%}){score}'
                     f"<div>{imgs}</div></div>")
    more = f"<p>{len(rows) - MAX_CARDS} more in the JSON report.</p>" if len(rows) > MAX_CARDS else ""
    return f'<section><h2>{esc(title)} ({len(rows)})</h2><div class="cards">{"".join(cards)}' \
           f"</div>{more}</section>" if rows else ""


def render_html(doc: dict[str, Any], pictures: dict[str, dict[str, str]] | None = None) -> str:
    """The whole report as one HTML string: no external resources, charts interactive."""
    figs, pics = _Figs(), pictures or {}
    info = {**doc["about"], "rows": doc["n_rows"], "skipped": len(doc.get("skipped") or [])}
    parts = [f'<section class="summary"><h1>{esc(doc["title"])}</h1>{_kv(info)}</section>']
    if doc.get("metrics"):
        parts.append(_metrics_html(doc["metrics"], figs))
    views = doc.get("summaries") or {}
    parts += [_summary_html(method, view, figs) for method, view in views.items()]
    by_id = {r["id"]: r for r in doc["predictions"]}
    parts.append(_cards("Misclassified inputs", doc["misclassified"], pics))
    for method, view in views.items():
        faith = view.get("least_faithful") or []
        parts.append(_cards(f"Least faithful explanations: {method}",
                            [by_id[i] for i, _ in faith if i in by_id], pics, dict(faith)))
    if doc.get("skipped"):
        parts.append("<section><h2>Skipped inputs</h2>"
                     + _grid(["id", "reason"], [list(s) for s in doc["skipped"][:MAX_HTML_ROWS]])
                     + "</section>")
    shown = doc["predictions"][:MAX_HTML_ROWS]
    parts.append(f'<section><h2>Predictions (first {len(shown)} of {doc["n_rows"]})</h2>'
                 + _grid(["id", "true", "predicted", "confidence", "correct"],
                         [[r["id"], r["true"], r["predicted"], r["confidence"], r["correct"]]
                          for r in shown]) + "</section>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="glassbox-figures" content="{figs.count}">'
            f'<title>{esc(doc["title"])}</title><style>{CSS}{EXTRA_CSS}</style>'
            f'<script type="text/javascript">{plotly_js()}</script></head>'
            f'<body>{"".join(parts)}</body></html>')


# ---------------------------------------------------------------- files and the CLI
def report_bytes(out: str | Path, fmt: str) -> bytes:
    """The report of job folder `out` as .html or .json bytes (for downloads and the CLI)."""
    fmt = fmt if fmt.startswith(".") else f".{fmt}"
    if fmt not in FORMATS:
        raise InputError(f"unknown data-set report format {fmt!r}; allowed: {list(FORMATS)}")
    doc = collect(out)
    if fmt == ".json":
        return json.dumps(doc, indent=1, allow_nan=False).encode("utf-8")
    ids = [r["id"] for r in doc["misclassified"][:MAX_CARDS]]
    for view in doc["summaries"].values():
        ids += [i for i, _ in view.get("least_faithful") or []][:MAX_CARDS]
    return render_html(doc, card_pictures(Path(out), ids)).encode("utf-8")


def write(out: str | Path, path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--out {str(path)!r} is a folder; give a file ending in .html or .json")
    data = report_bytes(out, path.suffix.lower())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def command(args: argparse.Namespace) -> int:
    """`python -m explainers dataset-report DIR --out FILE` (parsed in explainers/cli.py)."""
    path = write(args.dir, args.out)
    print(f"wrote {path}")
    return 0

"""Trust page helpers: gather attributions, score them (cached, with progress), draw the panels."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cache, runner, state
from dashboard.figures import plot
from dashboard.inputs import UserInput
from dashboard.runner import method_label
from explainers import Attribution, get_method
from explainers.bounded import memo
from explainers.metrics import TrustReport, faithfulness_figure, sanity_figure, trust_report
from explainers.report.trust import trust_numbers
from models import ModelAdapter

SCORE_COLUMNS = ("deletion AUC", "random deletion AUC", "insertion AUC", "random insertion AUC",
                 "infidelity", "relative infidelity", "max-sensitivity", "completeness delta",
                 "stability", "sanity correlation", "sanity |map| correlation", "sanity passed")


def settings_of(heavy: bool, steps: int, k: int, seed: int) -> dict[str, Any]:
    """The trust_report keyword arguments the page's controls stand for (plain, for cache keys)."""
    return {"heavy": bool(heavy), "steps": int(steps), "seed": int(seed),
            "seeds": list(range(int(seed), int(seed) + int(k)))}


def explained(model: ModelAdapter, inp: UserInput, target: int | None, seed: int
              ) -> dict[str, Attribution]:
    """The Explain page's results for this model, input, target and seed (else empty)."""
    results = state.get(state.RESULTS) or {}
    try:
        key = json.loads(results.get("key") or "{}")
    except json.JSONDecodeError:
        return {}
    same = (key.get("model") == cache.key(model) and key.get("input") == inp.key
            and key.get("target") == target and key.get("seed") == seed)
    if not same:
        return {}
    return {name: a for name, a in results.get("items", []) if isinstance(a, Attribution)}


def widget_params(model: ModelAdapter, name: str) -> dict[str, Any]:
    """A method's parameters as last set on the Explain page (defaults where never set): only
    those the method declares for this model (params_for), e.g. no merge_words for fusion."""
    out = {}
    for p in get_method(name).params_for(model):
        default = p.default if p.kind != "str" else str(p.default)
        out[p.name] = state.get(state.widget_key("param", name, p.name), default)
    return out


def gather(model: ModelAdapter, inp: UserInput, target: int | None, methods: list[str],
           seed: int, bar: Any, span: float) -> tuple[dict[str, Attribution], list[str]]:
    """Attributions of `methods` (the Explain page's, else cached runs) and one error per failure."""
    have = explained(model, inp, target, seed)
    good: dict[str, Attribution] = {}
    errors: list[str] = []
    for i, name in enumerate(methods):
        text = f"Explaining: {method_label(name)} ({i + 1}/{len(methods)})"
        bar.progress(span * i / len(methods), text=text)
        if name in have:
            good[name] = have[name]
            continue
        params = runner.call_params(name, widget_params(model, name), seed)
        progress = cache.ui_progress(bar, span * i / len(methods), span / len(methods), text)
        a, _ = runner.run_one(model, inp, target, name, params, progress)
        if isinstance(a, str):
            errors.append(a)
        else:
            good[name] = a
    return good, errors


def run_key(model: ModelAdapter, inp: UserInput, target: int | None,
            attributions: dict[str, Attribution], settings: dict[str, Any]) -> str:
    """Plain key of a trust run: model, input, target, each method with its recorded params."""
    methods = [(name, {k: v for k, v in a.params.items() if not callable(v)}, a.target)
               for name, a in attributions.items()]
    return state.params_json({"model": cache.key(model), "input": inp.key, "target": target,
                              "methods": methods, "settings": settings})


@memo(max_entries=64, max_mb=128)
def scores(model_name: str, input_key: str, key_json: str, _raw: Any,
           _attributions: dict[str, Attribution], _progress: cache.Progress | None = None
           ) -> TrustReport:
    """trust_report for one input, keyed by (model, input hash, methods + params + settings)."""
    settings = dict(json.loads(key_json)["settings"])
    heavy = settings.pop("heavy")
    return trust_report(cache.get_model(model_name), _raw, _attributions, progress=_progress,
                        heavy=heavy, **settings)


def current(model_key: str, input_key: str) -> dict[str, Any] | None:
    """The last trust run if it was for this model and input (for reports), else None."""
    found = state.get(state.TRUST_RESULTS)
    if found and found.get("model") == model_key and found.get("input") == input_key \
            and found.get("report") is not None:
        return found
    return None


def method_numbers(report: TrustReport, name: str) -> dict[str, Any]:
    """trust_numbers of one method, plus the numbers its readings rest on: the relative
    infidelity and the sanity check's other variant (|maps| when the curve is signed)."""
    numbers = dict(trust_numbers(report)[name])
    row = report.row(name)
    if row.infidelity is not None and row.infidelity.relative is not None:
        numbers["relative infidelity"] = row.infidelity.relative
    if row.sanity is not None:
        variants = row.sanity.variants
        if "absolute" in variants:
            numbers["sanity |map| correlation"] = variants["absolute"][-1]
        if "signed" in variants:
            numbers["sanity correlation"] = variants["signed"][-1]
        numbers["sanity failed"] = row.sanity.failed
    return numbers


def score_table(report: TrustReport) -> pd.DataFrame:
    """One row per method, best first: its rank and every computed score (blank = not computed)."""
    rows = []
    for name in report.ranking:
        numbers = method_numbers(report, name)
        row = {"method": method_label(name), "rank": numbers.get("rank")}
        row.update({c: numbers.get(c) for c in SCORE_COLUMNS})
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.dropna(axis=1, how="all")


def score_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The score table turned on its side: one row per score, one column per method. A dozen
    score columns ran off the right of the page (the last ones cut); methods are few."""
    side = table.set_index("method").T.astype(object)
    side.insert(0, "score", side.index)
    return side.reset_index(drop=True)


def ranking(report: TrustReport) -> None:
    """The ranking sentence and the score table of every method."""
    for line in report.readings.get("_ranking", []):
        st.markdown(line)
    st.table(score_rows(score_table(report)).style.format(precision=4, na_rep="")
             .hide(axis="index"))
    st.caption(f"Scored in {report.seconds:.2f} s · removal baseline: "
               f"{report.settings.get('baseline')} · unit: {report.unit} ({report.n_units}) · "
               "lower is better for deletion AUC, infidelity, max-sensitivity and the sanity "
               "correlation; higher for insertion AUC and stability.")


def agreement(report: TrustReport) -> None:
    """Spearman and top-k overlap matrices across the scored methods."""
    agr = report.agreement
    if agr is None:
        st.info("Agreement needs two or more methods whose maps have the same size.")
        return
    names = [method_label(m) for m in agr.names]
    left, right = st.columns(2)
    left.plotly_chart(plot("agreement_matrix")(agr.spearman, names, "Spearman rank correlation"),
                      key="trust::spearman")
    right.plotly_chart(plot("agreement_matrix")(agr.topk, names, f"Top-{agr.k} overlap"),
                       key="trust::topk")


def _metrics(numbers: dict[str, Any]) -> None:
    shown = [(c, numbers[c]) for c in ("deletion AUC", "insertion AUC", "relative infidelity",
                                       "max-sensitivity", "completeness delta", "stability")
             if c in numbers]
    if "sanity passed" in numbers:
        failed = " + ".join(numbers.get("sanity failed", ()))  # in the label: the value is short
        shown.append((f"sanity check ({failed} maps)" if failed else "sanity check",
                      "passed" if numbers["sanity passed"] else "FAILED"))
    cols = st.columns(max(1, len(shown)))
    for col, (label, value) in zip(cols, shown, strict=False):
        col.metric(label, value if isinstance(value, str) else f"{value:.3g}")


def method_panel(report: TrustReport, name: str) -> None:
    """One method's trust: the numbers, curves, sanity cascade and the plain-language reading."""
    row, numbers = report.row(name), method_numbers(report, name)
    st.markdown(f"#### {numbers.get('rank')}. {method_label(name)}")
    _metrics(numbers)
    charts = [f for f in (
        row.faithfulness and faithfulness_figure(row.faithfulness, report.target_label,
                                                 method_label(name)),
        row.sanity and sanity_figure(row.sanity)) if f]
    cols = st.columns(max(1, len(charts)))
    for i, (col, fig) in enumerate(zip(cols, charts, strict=True)):
        col.plotly_chart(fig, key=state.widget_key("trust", name, i))
    st.markdown("\n".join(f"- {line}" for line in report.readings.get(name, [])))
    for score, why in row.skipped.items():
        st.caption(f"{score}: not computed ({why})")


def sections(report: TrustReport, subject: str) -> None:
    """The ranking, one panel per method and the agreement, for one input or continuation."""
    st.subheader(f"Ranking for this {subject}")
    ranking(report)
    st.subheader("Per method")
    for name in report.ranking:
        with st.container(border=True):
            method_panel(report, name)
    st.subheader("Agreement between methods")
    agreement(report)

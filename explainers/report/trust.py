"""Trust scores in reports: a number table per method and sections with readings and curves."""
from __future__ import annotations

import math
from typing import Any

from explainers.metrics.figures import faithfulness_figure, sanity_figure
from explainers.metrics.reading import MethodTrust
from explainers.metrics.report import TrustReport
from explainers.plots import esc
from explainers.report.section import Section


def _num(x: Any) -> float | None:
    """A finite float, or None (not computed, NaN or infinite)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def method_numbers(r: MethodTrust) -> dict[str, Any]:
    """Every computed score of one method, by display name (missing scores are left out)."""
    f, st = r.faithfulness, r.stability
    out: dict[str, Any] = {}
    if f is not None:
        out.update({"deletion AUC": f.deletion_auc, "random deletion AUC": f.random_deletion_auc,
                    "insertion AUC": f.insertion_auc, "random insertion AUC": f.random_insertion_auc})
    if r.infidelity is not None:
        out["infidelity"] = r.infidelity.value
    if r.max_sensitivity is not None:
        out["max-sensitivity"] = r.max_sensitivity.value
    out["completeness delta"] = r.delta
    if st is not None:
        out["stability"] = st.mean_pairwise_spearman
    if r.sanity is not None:
        out["sanity correlation"] = r.sanity.final
        out["sanity passed"] = bool(r.sanity.passed)
    nums = {k: v if isinstance(v, bool) else _num(v) for k, v in out.items()}
    return {k: v for k, v in nums.items() if v is not None}


def trust_numbers(t: TrustReport) -> dict[str, dict[str, Any]]:
    """method -> score name -> value, plus its rank for this input (what Report.trust holds)."""
    ranks = {m: i + 1 for i, m in enumerate(t.ranking)}
    return {r.method: {**method_numbers(r), "rank": ranks.get(r.method)} for r in t.methods}


def _readings_html(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(s)}</li>" for s in lines) + "</ul>"


def trust_sections(t: TrustReport) -> list[Section]:
    """A ranking section (all numbers in its data), then one section per method."""
    ranking = " ".join(t.readings.get("_ranking", []))
    head = Section("Trust scores", text=ranking or f"Trust scores of {t.methods[0].method}.",
                   data=t.to_dict())
    out = [head]
    for r in t.methods:
        figs: list[Any] = []
        if r.faithfulness is not None:
            figs.append(faithfulness_figure(r.faithfulness, t.target_label, r.method))
        if r.sanity is not None:
            figs.append(sanity_figure(r.sanity))
        skipped = [f"{k}: {v}" for k, v in r.skipped.items()]
        html = _readings_html(t.readings.get(r.method, []))
        if skipped:
            html += f'<p class="skipped">Not computed: {esc("; ".join(skipped))}</p>'
        out.append(Section(f"Trust: {r.method}", html=html, figures=figs))
    return out

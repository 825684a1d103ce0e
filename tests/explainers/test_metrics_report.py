"""trust_report: every score per method, a ranking, readings, JSON, progress and cancellation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explainers.metrics import trust_report
from explainers.metrics.reading import MethodTrust, rank_methods
from models.errors import CancelledError, InputError
from tests.explainers import metric_methods as mt
from tests.explainers import metric_models as mm
from tests.explainers.metric_models import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")
RAW = np.random.default_rng(3).normal(1.0, 2.0, mm.N_FEATURES)


@pytest.fixture
def stand_ins(monkeypatch):
    mt.register_stand_ins(monkeypatch)


def _explain(model, raw, target, *names, **params):
    from explainers.base import explain

    return [explain(model, raw, n, target=target, **params.get(n, {})) for n in names]


def test_light_report_on_a_model_with_known_features(stand_ins):
    model = mm.linear_tabular()
    target = int(np.argmax(model.predict(RAW)))
    atts = _explain(model, RAW, target, "t_ig", "t_saliency", "t_random")
    rep = trust_report(model, RAW, atts, heavy=False, steps=10)
    assert [r.method for r in rep.methods] == ["t_ig", "t_saliency", "t_random"]
    assert rep.ranking[0] == "t_ig" and rep.ranking[-1] == "t_random"
    ig = rep.row("t_ig")
    assert ig.delta == pytest.approx(atts[0].delta) and abs(ig.delta) < 1e-4  # completeness, surfaced
    assert ig.max_sensitivity is None and ig.sanity is None and ig.stability is None
    # one random reference shared by every method of the same target
    np.testing.assert_array_equal(ig.faithfulness.random_deletion, rep.row("t_random").faithfulness.random_deletion)
    assert rep.agreement.names == ("t_ig", "t_saliency", "t_random")
    label = model.info.class_names[target]
    assert any(f"probability of '{label}'" in s and "10% most important features" in s
               for s in rep.readings["t_ig"])
    assert rep.readings["_ranking"][0].startswith("Ranking for this input")
    json.dumps(rep.to_dict(), allow_nan=False)


def test_heavy_report_adds_sensitivity_stability_and_sanity(stand_ins):
    model = mm.mlp_tabular()
    atts = _explain(model, RAW, 1, "t_ig", "t_smoothgrad", "t_input", t_ig={"n_steps": 16})
    seen = []
    rep = trust_report(model, RAW, atts, heavy=True, steps=5, n_perturb=16, sens_samples=2,
                       seeds=(0, 1, 2), progress=lambda d, t: seen.append((d, t)))
    # 2 light scores x 3 + sensitivity (2+1) x 3 + stability 3 seeds (smoothgrad only)
    # + sanity 2 layers x 3 (+1 reference run for the stochastic smoothgrad) = 25 explanations
    done = [d for d, _ in seen]
    assert seen[-1] == (25, 25) and {t for _, t in seen} == {25} and done == sorted(done)
    ig, sg, inp = rep.row("t_ig"), rep.row("t_smoothgrad"), rep.row("t_input")
    assert ig.stability.mean_pairwise_spearman == 1.0 and not ig.stability.stochastic
    assert sg.stability.stochastic and sg.stability.settings["seeds"] == [0, 1, 2]
    assert ig.sanity.passed and not inp.sanity.passed
    assert ig.max_sensitivity.value >= 0
    assert any("Sanity check FAILED" in s for s in rep.readings["t_input"])
    d = rep.to_dict()
    json.dumps(d, allow_nan=False)
    assert "mean_map" not in json.dumps(d) and "mean_map" in json.dumps(rep.to_dict(maps=True))


def test_text_report_skips_max_sensitivity_with_a_reason(stand_ins):
    model, raw = mm.TextToy(), "the movie was great and good but the plot was bad"
    atts = _explain(model, raw, 1, "t_ig", "t_saliency")
    rep = trust_report(model, raw, atts, heavy=True, steps=4, n_perturb=8, sanity_steps=2)
    assert rep.unit == "tokens" and rep.n_units == len(atts[0].values) - 2
    assert "continuous" in rep.row("t_ig").skipped["max_sensitivity"]
    assert rep.row("t_ig").max_sensitivity is None and rep.row("t_ig").sanity is not None
    json.dumps(rep.to_dict(), allow_nan=False)


def test_cancel_and_empty_input(stand_ins):
    model = mm.linear_tabular()
    atts = _explain(model, RAW, 1, "t_ig")
    with pytest.raises(CancelledError):
        trust_report(model, RAW, atts, progress=lambda d, t: False)
    with pytest.raises(InputError, match="at least one"):
        trust_report(model, RAW, [])


def test_ranking_uses_mean_rank_over_available_scores():
    from explainers.metrics.captum_metrics import Infidelity

    rows = [MethodTrust("a", infidelity=Infidelity(0.1, 0.1)), MethodTrust("b", infidelity=Infidelity(0.5, 0.5)),
            MethodTrust("c")]
    order, mean = rank_methods(rows)
    assert order == ["a", "b", "c"] and mean["a"] == 1.0 and np.isnan(mean["c"])


def test_figures_show_every_curve_and_escape_labels():
    from explainers.metrics import (
        deletion_insertion,
        faithfulness_figure,
        sanity_check,
        sanity_figure,
    )

    model = mm.linear_tabular()
    a = mt.TIG().explain(model, RAW, 1)
    c = deletion_insertion(model, RAW, a, steps=4)
    fig = faithfulness_figure(c, label="<b>pos</b>", method="ig")
    assert [t.name.split(" (")[0] for t in fig.data] == [
        "deletion", "random deletion", "insertion", "random insertion"]
    assert list(fig.data[0].y) == pytest.approx(list(c.deletion)) and fig.data[0].x[-1] == 100.0
    assert "&lt;b&gt;pos&lt;/b&gt;" in fig.layout.title.text and "<b>" not in fig.layout.title.text
    s = sanity_check(model, RAW, mt.TInput(), {}, target=1)
    sf = sanity_figure(s)
    assert list(sf.data[0].y) == [1.0, *s.correlations] and "FAILED" in sf.layout.title.text

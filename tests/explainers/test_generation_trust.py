"""Trust scores on a language model: deletion/insertion of prompt tokens against the
continuation's log-probability, agreement between methods, the whole trust report."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers import explain
from explainers.metrics import agreement, deletion_insertion, trust_report
from tests.explainers.gen_models import CONTRAST, PROMPT, TARGET, lm


def removed_all(m, prompt: str, target: str) -> float:
    ids = torch.zeros_like(m.encode(prompt))  # every token replaced by the baseline token 0
    cont = m.continuation_ids(target)
    full = torch.cat([ids, torch.tensor([cont])], dim=1)
    with torch.no_grad():
        logp = torch.log_softmax(m.forward(full)[0], -1)
    t = ids.shape[1]
    return sum(float(logp[t - 1 + k, c]) for k, c in enumerate(cont))


def test_deletion_and_insertion_end_points_are_the_log_probs():
    m = lm("gpt2")
    a = explain(m, PROMPT, "feature_ablation", target=TARGET)
    c = deletion_insertion(m, PROMPT, a, steps=5)
    full, empty = a.output, removed_all(m, PROMPT, TARGET)
    assert c.deletion[0] == pytest.approx(full, abs=1e-4)
    assert c.deletion[-1] == pytest.approx(empty, abs=1e-4)
    assert c.insertion[0] == pytest.approx(empty, abs=1e-4)
    assert c.insertion[-1] == pytest.approx(full, abs=1e-4)
    assert c.random_deletion[0] == pytest.approx(full, abs=1e-4)
    assert c.settings["output"] == "log_prob" and c.unit == "tokens"
    assert c.n_units == len(a.units)


def test_deleting_the_top_token_first_matches_its_ablation():
    """Feature ablation's top token, removed alone, lowers log p by exactly its attribution."""
    m = lm("gpt2")
    a = explain(m, PROMPT, "feature_ablation", target=TARGET)
    n = len(a.units)
    c = deletion_insertion(m, PROMPT, a, steps=n, n_random=1)
    assert c.deletion[1] == pytest.approx(a.output - float(np.max(a.values)), abs=1e-4)


def test_contrast_and_spans_are_kept_in_the_curves():
    m = lm("gpt2")
    a = explain(m, PROMPT, "integrated_gradients", target=TARGET, contrast=CONTRAST, spans="0:2")
    c = deletion_insertion(m, PROMPT, a, steps=4)
    assert c.n_units == len(a.units) == len(m.tokens(PROMPT)) - 1
    assert c.deletion[0] == pytest.approx(a.output, abs=1e-4)  # log p(target) - log p(contrast)


def test_agreement_between_generation_methods():
    m = lm("gpt2")
    fa = explain(m, PROMPT, "feature_ablation", target=TARGET)
    ig = explain(m, PROMPT, "integrated_gradients", target=TARGET)
    ag = agreement([fa, ig, fa])
    assert ag.names == ("feature_ablation", "integrated_gradients", "feature_ablation#2")
    assert ag.spearman[0, 2] == 1.0 and -1.0 <= ag.spearman[0, 1] <= 1.0


def test_trust_report_on_a_language_model():
    m = lm("gpt2")
    atts = [explain(m, PROMPT, meth, target=TARGET) for meth in
            ("feature_ablation", "integrated_gradients", "kernel_shap")]
    r = trust_report(m, PROMPT, atts, steps=4, seeds=(0, 1), n_perturb=8)
    assert r.modality == "generation" and r.agreement is not None
    rows = {row.method: row for row in r.methods}
    assert rows["kernel_shap"].stability is not None and rows["kernel_shap"].stability.stochastic
    assert "sanity" in rows["feature_ablation"].skipped
    assert rows["feature_ablation"].infidelity is not None
    assert rows["integrated_gradients"].delta is not None
    assert r.to_dict()["methods"][0]["faithfulness"]["settings"]["output"] == "log_prob"

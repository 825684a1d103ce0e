"""Trust scores with the real registered methods (explain()) and the real mnist-cnn."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from explainers import explain
from explainers.metrics import (
    deletion_insertion,
    infidelity,
    make_units,
    sanity_check,
    stability,
    trust_report,
)
from models.errors import ModelLoadError
from tests.explainers import metric_models as mm
from tests.explainers.metric_models import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")
RAW = np.random.default_rng(5).normal(1.0, 2.0, mm.N_FEATURES)


SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "samples"


@pytest.fixture(scope="module")
def mnist():
    """mnist-cnn and two shipped sample digits (samples() would load the whole data set)."""
    from models import load_model

    try:
        model = load_model("mnist-cnn")
    except ModelLoadError as exc:  # the weights ship in assets/: not loading is a failure
        pytest.fail(str(exc))
    digits = [(str(SAMPLES / f"mnist-digit-{d}.png"), d) for d in (3, 7)]
    if not all(Path(p).exists() for p, _ in digits):
        pytest.fail(f"sample digits missing under {SAMPLES}")
    return model, digits


@pytest.mark.parametrize("maker", [mm.linear_tabular, mm.mlp_tabular])
def test_real_ig_beats_random_maps_on_deletion_insertion_and_infidelity(maker):
    model = maker()
    target = int(np.argmax(model.predict(RAW)))
    ig = explain(model, RAW, "integrated_gradients", target=target, baselines="mean")
    if maker is mm.linear_tabular:
        np.testing.assert_allclose(ig.values, mm.closed_form(model, RAW, target), atol=1e-4)
    rng = np.random.default_rng(0)
    randoms = [dataclasses.replace(ig, values=rng.uniform(-1, 1, mm.N_FEATURES)) for _ in range(6)]
    good = deletion_insertion(model, RAW, ig, steps=10)
    bad = [deletion_insertion(model, RAW, r, steps=10) for r in randoms]
    assert good.deletion_auc < np.mean([b.deletion_auc for b in bad])
    assert good.insertion_auc > np.mean([b.insertion_auc for b in bad])
    good_inf = infidelity(model, RAW, ig).relative
    assert good_inf < np.mean([infidelity(model, RAW, r).relative for r in randoms])


def test_merged_words_are_the_units_of_removal():
    model, raw = mm.TextToy(pairs=True), "the movie was great and good but the plot was bad"
    a = explain(model, raw, "integrated_gradients", target=1, merge_words=True)
    tokens = model.tokens(raw)
    units = make_units(model, raw, words=True)
    assert len(a.values) == 2 + (len(tokens) - 1) // 2 and units.n == len(a.values) - 2
    np.testing.assert_allclose(units.scores(a), a.values[1:-1])
    c = deletion_insertion(model, raw, a, steps=units.n)
    assert c.unit == "words" and c.deletion_auc < c.random_deletion_auc
    top = int(np.argmax(a.values[1:-1]))  # removing that word removes both of its tokens
    first = units.build(torch.ones(1, units.n).index_fill_(1, torch.tensor([top]), 0.0))[0][0]
    assert (first == model.pad_token_id).sum() == 2


@pytest.mark.parametrize(("method", "fails"), [("saliency", ()),
                                               ("integrated_gradients", ("absolute",))])
def test_real_sanity_check_on_mnist_cnn_scores_signed_and_absolute_maps(mnist, method, fails):
    """Signed maps decorrelate once every layer is random; |IG| still correlates ~0.98 (the
    input dominates it: Adebayo et al. 2018), so IG is flagged on the absolute variant."""
    model, samples = mnist
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    for raw, label in samples:
        result = sanity_check(model, raw, method, {}, target=label)
        assert abs(result.final) < 0.5  # signed
        assert result.failed == fails and result.passed == (not fails)
    assert all(torch.equal(before[k], v) for k, v in model.module.state_dict().items())


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "grad_cam"])
def test_real_deterministic_methods_have_stability_one(mnist, method):
    model, samples = mnist
    st = stability(model, samples[0][0], method, {}, seeds=(0, 1, 2))
    assert st.mean_pairwise_spearman == 1.0 and not st.stochastic


def test_real_smoothgrad_is_stochastic(mnist):
    model, samples = mnist
    st = stability(model, samples[0][0], "smoothgrad", {"nt_samples": 5}, seeds=(0, 1, 2))
    assert st.stochastic and st.mean_pairwise_spearman < 1.0


def test_real_light_report_on_mnist(mnist):
    model, samples = mnist
    raw, label = samples[0]
    atts = [explain(model, raw, m, target=label) for m in ("integrated_gradients", "saliency", "grad_cam")]
    rep = trust_report(model, raw, atts, heavy=False, steps=10, n_perturb=16)
    assert rep.unit == "pixels" and rep.n_units == 28 * 28 and set(rep.ranking) == {a.method for a in atts}
    assert rep.row("integrated_gradients").delta == pytest.approx(atts[0].delta)
    for r in rep.methods:  # every real map beats random removal on this digit
        assert r.faithfulness.deletion_auc < r.faithfulness.random_deletion_auc
    json.dumps(rep.to_dict(), allow_nan=False)

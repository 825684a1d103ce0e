"""Doubts: far from the training data (calibrated on bundled samples), close calls, unconverged
paths and failed sanity checks, each a notice saying what to do."""
from __future__ import annotations

import numpy as np
import pytest

from explainers import explain
from explainers.doubts import close_call, failed_sanity, far_from_training, result_doubts
from explainers.metrics.convergence import convergence
from explainers.metrics.ood import calibrate, ood_score
from explainers.metrics.sanity import sanity_check
from models import load_model
from models.errors import InputError

GRADIENT = np.tile(np.linspace(0, 255, 28), (28, 1)).astype(np.uint8)  # a grey ramp, no digit


@pytest.fixture(scope="module")
def mnist():
    return load_model("mnist-cnn")


def _split(model, n=400):
    """Calibrate on one half of the bundled samples, score the other (disjoint) half."""
    s = model.samples(n, 0)
    half = len(s) // 2
    return calibrate(model, [r for r, _ in s[:half]]), [r for r, _ in s[half:]]


@pytest.mark.parametrize("name", ["mnist-cnn", "digit-text-fusion", "breast-cancer-mlp",
                                  "sentiment-bag"])
def test_held_out_samples_mostly_pass(name):
    model = load_model(name)
    cal, rest = _split(model)
    flagged = [ood_score(model, r, cal).far for r in rest]
    assert len(flagged) >= 50 and np.mean(flagged) <= 0.06


def test_grey_gradient_is_far_from_mnist_and_the_notice_says_what_to_do(mnist):
    cal, rest = _split(mnist)
    score = ood_score(mnist, GRADIENT, cal)
    typical = max(ood_score(mnist, r, cal).statistics for r in rest[:50])
    assert score.far and "statistics" in score.reasons
    assert score.statistics > 2 * cal.stat_threshold > typical  # not a borderline call
    d = far_from_training(score)
    assert d.kind == "ood" and "try an input like the model's samples" in d.message
    assert f"{score.statistics:.1f} standard deviations" in d.message


def test_a_tabular_row_pushed_out_of_range_is_flagged():
    model = load_model("breast-cancer-mlp")
    cal, rest = _split(model)
    row = dict(rest[0])
    assert not ood_score(model, row, cal).far
    first = next(iter(row))
    row[first] = float(row[first]) * 50
    assert ood_score(model, row, cal).reasons[:1] == ("statistics",)


def test_too_few_samples_give_no_verdict():
    model = load_model("imagenet-efficientnet")  # 4 bundled photos
    cal = calibrate(model)
    assert cal.n < 20 and cal.stat_threshold is None
    assert not ood_score(model, np.zeros((224, 224, 3), np.uint8), cal).far


def test_close_call_names_both_classes_and_offers_the_runner_up():
    names = ("cat", "dog", "fox")
    d = close_call(np.array([0.15, 0.44, 0.41]), names)
    assert d.kind == "close" and d.action == ("target", 2)
    assert "'dog' 44% vs 'fox' 41%" in d.message and "explain 'fox' too" in d.message
    assert close_call(np.array([0.05, 0.60, 0.35]), names) is None
    assert close_call(np.array([1.0]), ("only",)) is None


def test_unconverged_doubt_is_the_convergence_message_with_its_fix(mnist):
    raw, _ = mnist.samples(1, 0)[0]
    a = explain(mnist, raw, "integrated_gradients", n_steps=4,
                integration_method="riemann_trapezoid")
    found = convergence(a)
    (d,) = result_doubts(a)
    assert not found.converged and d.kind == "unconverged"
    assert d.message == found.message() and d.action == ("n_steps", found.suggested)
    assert result_doubts(explain(mnist, raw, "integrated_gradients")) == []


def test_failed_sanity_says_which_variant(mnist):
    raw, y = mnist.samples(1, 0)[0]
    ig = sanity_check(mnist, raw, "integrated_gradients", {}, target=y)
    d = failed_sanity(ig, " on this input")
    assert not ig.passed and d.kind == "sanity"
    assert d.message.startswith("integrated_gradients failed the sanity check on this input")
    assert f"absolute maps {ig.variants['absolute'][-1]:.2f}" in d.message
    cam = sanity_check(mnist, raw, "grad_cam", {}, target=y)
    assert cam.passed and failed_sanity(cam) is None


def test_sanity_on_one_part_of_a_fusion_map():
    model = load_model("digit-text-fusion")
    raw, y = model.samples(1, 0)[0]
    image = sanity_check(model, raw, "saliency", {}, target=y, max_steps=2, part="image")
    both = sanity_check(model, raw, "saliency", {}, target=y, max_steps=2)
    assert image.settings["part"] == "image" and "part" not in both.settings
    assert image.correlations != both.correlations  # the text part is left out
    with pytest.raises(InputError, match="part 'audio'"):
        sanity_check(model, raw, "saliency", {}, target=y, max_steps=1, part="audio")


def test_an_energy_only_flag_says_so():
    from explainers.metrics.ood import Calibration, OODScore

    cal = Calibration("m", 40, None, None, None, energy_threshold=-3.0)
    score = OODScore(None, -1.0, cal)
    assert score.reasons == ("energy",)
    d = far_from_training(score)
    assert "energy score -1.00 is above that of 99% of 40 bundled samples" in d.message
    assert far_from_training(OODScore(None, -5.0, cal)) is None


def test_calibration_stops_at_its_time_budget_with_enough_samples(mnist):
    from explainers.metrics.ood import MIN_SAMPLES

    assert calibrate(mnist, budget_s=0.0).n == MIN_SAMPLES
    assert calibrate(mnist, n=60, budget_s=60.0).n == 60

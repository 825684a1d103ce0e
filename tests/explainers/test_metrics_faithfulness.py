"""Deletion/insertion curves: known relevant features, curve end points, units per modality, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers.metrics import deletion_insertion, make_units
from models.errors import InputError
from tests.explainers import metric_methods as mt
from tests.explainers import metric_models as mm
from tests.explainers.metric_models import one_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")
RNG = np.random.default_rng(7)
INPUTS = [RNG.normal(1.0, 2.0, mm.N_FEATURES) for _ in range(3)]


def _prob(model, x: torch.Tensor, target: int = 1) -> float:
    with torch.no_grad():
        return float(torch.softmax(model.forward(x), -1)[0, target])


@pytest.mark.parametrize("maker", [mm.linear_tabular, mm.mlp_tabular])
@pytest.mark.parametrize("raw", INPUTS)
def test_correct_attribution_beats_random_maps_on_deletion_and_insertion(maker, raw):
    model = maker()
    target = int(np.argmax(model.predict(raw)))
    good = deletion_insertion(model, raw, mt.TIG().explain(model, raw, target, n_steps=64), steps=10)
    assert good.deletion_auc < good.random_deletion_auc  # random removal order, same baseline
    assert good.insertion_auc > good.random_insertion_auc
    bad = [deletion_insertion(model, raw, mt.TRandom().explain(model, raw, target, seed=s), steps=10)
           for s in range(6)]
    assert good.deletion_auc < np.mean([b.deletion_auc for b in bad])  # random attribution maps
    assert good.insertion_auc > np.mean([b.insertion_auc for b in bad])


def test_closed_form_and_ig_agree_on_a_linear_model():
    model, raw = mm.linear_tabular(), INPUTS[0]
    cf = mt._result(model, raw, 1, "closed_form", mm.closed_form(model, raw), {})
    ig = mt.TIG().explain(model, raw, 1)
    np.testing.assert_allclose(ig.values, cf.values, atol=1e-5)
    a, b = deletion_insertion(model, raw, cf), deletion_insertion(model, raw, ig)
    np.testing.assert_allclose(a.deletion, b.deletion, atol=1e-6)


def test_curve_end_points_are_the_input_and_the_baseline():
    model, raw = mm.mlp_tabular(), INPUTS[1]
    c = deletion_insertion(model, raw, mt.TSaliency().explain(model, raw, 1), steps=8, seed=3)
    x = model.preprocess(raw)
    p_in, p_base = _prob(model, x), _prob(model, model.baseline(x, "mean"))
    for full, empty in ((c.deletion[0], c.deletion[-1]), (c.insertion[-1], c.insertion[0]),
                        (c.random_deletion[0], c.random_deletion[-1])):
        assert full == pytest.approx(p_in, abs=1e-6)
        assert empty == pytest.approx(p_base, abs=1e-6)
    assert c.fractions.shape == c.deletion.shape == (9,)
    assert c.unit == "features" and c.n_units == mm.N_FEATURES and c.settings["baseline"] == "mean"


def test_zero_baseline_and_one_step_removal_order():
    model, raw = mm.linear_tabular(), INPUTS[2]
    a = mt._result(model, raw, 1, "closed_form", mm.closed_form(model, raw), {})
    c = deletion_insertion(model, raw, a, steps=mm.N_FEATURES, baseline="zero")
    top = int(np.argmax(a.values))
    x = model.preprocess(raw).clone()
    x[0, top] = 0.0
    assert c.deletion[1] == pytest.approx(_prob(model, x), abs=1e-6)  # first step = top feature gone
    assert c.settings["baseline"] == "zero"


def test_text_units_are_tokens_and_special_tokens_stay():
    model, raw = mm.TextToy(), "the movie was great and good but the plot was bad"
    a = mt.TIG().explain(model, raw, 1)
    units = make_units(model, raw)
    assert units.unit == "tokens" and units.n == len(a.values) - 2
    everything_gone = units.build(torch.zeros(1, units.n))[0][0].tolist()
    ids = model.preprocess(raw)[0].tolist()
    assert everything_gone == [ids[0]] + [model.pad_token_id] * units.n + [ids[-1]]
    c = deletion_insertion(model, raw, a, steps=units.n)
    assert c.deletion_auc < c.random_deletion_auc and c.insertion_auc > c.random_insertion_auc


def test_image_pixels_and_superpixels():
    model, images, labels = mm.digits_model()
    raw, target = images[0], int(labels[0])
    a = mt.TIG().explain(model, raw, target)
    pix = deletion_insertion(model, raw, a, steps=16)
    assert pix.unit == "pixels" and pix.n_units == 64
    assert pix.deletion_auc < pix.random_deletion_auc and pix.insertion_auc > pix.random_insertion_auc
    sp = deletion_insertion(model, raw, a, steps=4, superpixels=8)
    assert sp.unit == "superpixels" and 2 <= sp.n_units <= 64


def test_batched_forward_equals_one_by_one():
    model, images, labels = mm.digits_model()
    units = make_units(model, images[1])
    presence = torch.as_tensor(np.random.default_rng(0).random((5, units.n)) > 0.5).float()
    batch = units.build(presence)[0]
    for i in range(5):
        one = units.build(presence[i : i + 1])[0]
        torch.testing.assert_close(batch[i : i + 1], one)
    x, base = units.x[0], units.base[0]
    expected = torch.where(presence[0].view(1, 1, 8, 8) > 0, x, base)
    torch.testing.assert_close(batch[:1], expected)


def test_bad_settings_name_the_allowed_values():
    model, raw = mm.linear_tabular(), INPUTS[0]
    a = mt.TSaliency().explain(model, raw, 1)
    with pytest.raises(InputError, match="allowed: .*mean.*zero"):
        deletion_insertion(model, raw, a, baseline="blur")
    with pytest.raises(InputError, match="steps"):
        deletion_insertion(model, raw, a, steps=0)
    with pytest.raises(InputError, match="allowed: \\['pad'\\]"):
        deletion_insertion(mm.TextToy(), "good movie", mt.TSaliency().explain(mm.TextToy(), "good movie", 1),
                           baseline="mask")


def test_to_dict_is_json_ready():
    import json

    model, raw = mm.linear_tabular(), INPUTS[0]
    d = deletion_insertion(model, raw, mt.TSaliency().explain(model, raw, 1), steps=4).to_dict()
    json.dumps(d, allow_nan=False)
    assert len(d["deletion"]) == 5 and d["deletion_gain"] == pytest.approx(
        d["random_deletion_auc"] - d["deletion_auc"])


def test_large_images_default_to_superpixels():
    model, _, _ = mm.digits_model()  # make_units needs no forward pass: any size will do here
    yy, xx = np.mgrid[0:80, 0:80]
    big = make_units(model, (np.sin(xx / 5) + np.cos(yy / 7) + 2) * 4, baseline="zero")
    small = make_units(model, np.random.default_rng(0).random((64, 64)) * 16, baseline="zero")
    assert big.unit == "superpixels" and 10 <= big.n <= 200
    assert small.unit == "pixels" and small.n == 64 * 64
    assert make_units(model, np.zeros((80, 80)), baseline="zero", superpixels=0).unit == "pixels"

"""Trust scores on an image+text fusion model: pixels and tokens ranked together."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explainers.base import Attribution
from explainers.metrics import agreement, deletion_insertion, infidelity, make_units
from tests.explainers import metric_models as mm

RAW = {"image": np.random.default_rng(2).random((8, 8)), "text": "great movie but bad plot and awful"}


def _att(model: mm.FusionToy, values: dict, name: str) -> Attribution:
    return Attribution(values=values, units={"text": model.tokens(RAW)}, method=name, target=1,
                       target_label="yes", modality="fusion", model_name="toy-fusion")


def test_units_are_pixels_then_tokens():
    model = mm.FusionToy()
    units = make_units(model, RAW)
    assert units.unit == "pixels+tokens" and units.n == 64 + len(model.tokens(RAW))
    assert units.baseline == "black+pad"
    scores = units.scores(mm.fusion_closed_form(model, RAW))
    np.testing.assert_allclose(scores[:64], mm.fusion_closed_form(model, RAW)["image"].ravel())


def test_exact_attribution_beats_random_and_has_zero_infidelity():
    model = mm.FusionToy()
    exact = _att(model, mm.fusion_closed_form(model, RAW), "exact")
    rng = np.random.default_rng(0)
    randoms = [_att(model, {"image": rng.normal(size=(8, 8)), "text": rng.normal(size=5)}, "random")
               for _ in range(4)]
    good = deletion_insertion(model, RAW, exact, steps=10)
    bad = [deletion_insertion(model, RAW, r, steps=10) for r in randoms]
    assert good.deletion_auc < np.mean([b.deletion_auc for b in bad])
    assert good.insertion_auc > np.mean([b.insertion_auc for b in bad])
    score = infidelity(model, RAW, exact, n_perturb=16, normalize=False)
    assert score.value < 1e-8 and score.settings["perturbation"] == "removal"
    assert infidelity(model, RAW, randoms[0], n_perturb=16).relative > 0.1


def test_agreement_of_fusion_maps():
    model = mm.FusionToy()
    exact = mm.fusion_closed_form(model, RAW)
    ag = agreement({"exact": exact, "minus": {k: -v for k, v in exact.items()}})
    assert ag.spearman[0, 1] == pytest.approx(-1.0) and ag.topk[0, 1] == 1.0
    json.dumps(ag.to_dict(), allow_nan=False)

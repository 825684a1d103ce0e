"""The tabular waterfall starts at the method's base value and ends at the real model output."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers import explain, list_methods
from explainers import plots as P
from models import load_model

MODEL = "breast-cancer-mlp"


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


def _output(model, raw, target: int) -> float:
    with torch.no_grad():
        return float(model.forward(model.preprocess(raw))[0, target])


@pytest.mark.parametrize("method", list_methods(load_model(MODEL)))
def test_waterfall_ends_at_the_model_output(model, method):
    raw = model.samples(200, 0)[0][0]
    a = explain(model, raw, method, seed=0)
    fig = P.waterfall(a, 12, feature_values=raw)
    wf = fig.data[0]
    f_x = _output(model, raw, a.target)
    assert wf.base + sum(wf.x) == pytest.approx(f_x, rel=1e-5, abs=1e-6)  # the bars reach f(x)
    assert f"f(x) = {f_x:.4g}" in [s.text for s in fig.layout.annotations]
    if a.base_value is not None:  # it starts where the method's own base value is
        assert wf.base == pytest.approx(a.base_value)
    gap = f_x - (wf.base + float(np.sum(a.values)))
    labels = list(wf.y)
    assert ("not attributed (completeness gap)" in labels) == (abs(gap) > 1e-6 * max(1, abs(f_x)))

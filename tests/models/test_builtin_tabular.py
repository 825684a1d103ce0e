"""breast-cancer-mlp: recorded accuracy, raw-feature inputs, baselines and input errors."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import torch

from models import InputError, load_model
from models.builtin import tabular


@functools.cache
def model():
    return load_model("breast-cancer-mlp", device="cpu")


def test_shipped_weights_give_recorded_accuracy():
    m = model()
    acc = tabular.accuracy(m)
    assert acc == pytest.approx(m.info.card["heldout_accuracy"], abs=1e-6)
    assert acc >= 0.95
    assert m.info.card["split"]["held_out"] == len(m.split.y_test) == 114


def test_dict_dataframe_and_array_inputs_agree():
    m = model()
    row, _ = m.samples(1)[0]
    x = m.preprocess(row)
    assert x.shape == (1, 30) and x.dtype == torch.float32
    np.testing.assert_array_equal(x.numpy()[0], np.array(list(row.values()), dtype=np.float32))
    assert torch.equal(x, m.preprocess(pd.DataFrame([row])))
    assert torch.equal(x, m.preprocess(np.array(list(row.values()))))
    assert torch.equal(x, m.preprocess(list(row.values())))


def test_standardisation_lives_inside_the_module():
    m = model()
    x = m.background(8)
    expected = m.module.net((x - m.module.mean) / m.module.std)
    torch.testing.assert_close(m.forward(x), expected)
    torch.testing.assert_close(m.module.mean, torch.as_tensor(m.split.x_train.mean(0)))


def test_baselines():
    m = model()
    x = m.preprocess(m.samples(1)[0][0])
    assert torch.equal(m.baseline(x, "zero"), torch.zeros_like(x))
    torch.testing.assert_close(m.baseline(x, "mean")[0], m.module.mean)
    with pytest.raises(InputError, match="'blur'.*mean, zero"):
        m.baseline(x, "blur")


def test_samples_come_from_the_held_out_split():
    m = model()
    test_rows = {tuple(r) for r in m.split.x_test.tolist()}
    for row, y in m.samples(10, seed=3):
        assert tuple(np.float32(v) for v in row.values()) in test_rows
        assert y in (0, 1)


@pytest.mark.parametrize("raw, message", [
    (np.zeros(29), "expected 30 feature values"),
    (np.zeros((2, 30)), "expected 30 feature values"),
    ({"no such feature": 1.0}, "unknown feature name.*'no such feature'.*mean radius"),
    ({"mean radius": 1.0}, r"missing feature\(s\) .mean texture."),
    ("mean radius=3", "cannot use a str as a table row"),
    (pd.DataFrame([{}, {}]), "one-row DataFrame, got 2 rows"),
    (np.full(30, np.nan), "NaN"),
])
def test_bad_inputs_raise_input_error(raw, message):
    with pytest.raises(InputError, match=message):
        model().preprocess(raw)


def test_non_numeric_feature_value():
    row = dict(model().samples(1)[0][0])
    row["mean radius"] = "big"
    with pytest.raises(InputError, match="could not convert .big. to a number in column .mean radius."):
        model().preprocess(row)

"""Data-set plots: the figures carry exactly the metrics' numbers, cells map back, names escaped."""
from __future__ import annotations

import numpy as np
import pytest

from explainers.plots import dataset as DP
from models.errors import InputError

CM = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]])
NAMES = ["cat", "<b>dog</b>", "a&b"]


def test_confusion_matrix_numbers_cells_and_escaping():
    fig = DP.confusion_matrix(CM, NAMES)
    heat, cells = fig.data
    np.testing.assert_array_equal(np.asarray(heat.z), CM)
    assert [list(r) for r in heat.text] == [[str(v) for v in r] for r in CM]
    assert list(heat.x) == ["cat", "&lt;b&gt;dog&lt;/b&gt;", "a&amp;b"]
    custom = np.asarray(cells.customdata).astype(int)
    for k, (t, p, count) in enumerate(custom):
        assert DP.cell_of(k, 3) == (t, p) and count == CM[t, p]
        assert cells.x[k] == heat.x[p] and cells.y[k] == heat.y[t]
    norm = DP.confusion_matrix(CM, NAMES, normalize=True).data[0]
    np.testing.assert_allclose(np.asarray(norm.z).sum(axis=1), 1.0)
    assert list(DP.confusion_matrix(CM, NAMES, selected=(1, 2)).data[1].selectedpoints) == [5]


def test_confusion_matrix_rejects_a_mismatch():
    with pytest.raises(InputError, match="does not match 2 class names"):
        DP.confusion_matrix(CM, NAMES[:2])
    with pytest.raises(InputError, match="outside"):
        DP.cell_of(9, 3)


def test_reliability_diagram_draws_the_non_empty_bins():
    bins = [{"lo": 0.0, "hi": 0.5, "confidence": 0.4, "accuracy": 0.25, "count": 4},
            {"lo": 0.5, "hi": 0.9, "confidence": 0.0, "accuracy": 0.0, "count": 0},
            {"lo": 0.9, "hi": 1.0, "confidence": 0.95, "accuracy": 1.0, "count": 6}]
    fig = DP.reliability_diagram({"bins": bins, "ece": 0.123456})
    acc = fig.data[0]
    assert list(acc.y) == [0.25, 1.0] and list(acc.x) == [0.25, 0.95]
    assert list(fig.data[1].y) == [0.4, 0.95] and list(fig.data[3].y) == [4, 6]
    assert "ECE 0.123" in fig.layout.title.text
    with pytest.raises(InputError, match="no non-empty bins"):
        DP.reliability_diagram({"bins": [bins[1]], "ece": 0.0})


def test_per_class_bars_and_maps():
    per = {n: {"precision": 0.1 * i, "recall": 0.2 * i, "f1": 0.3 * i, "support": 10 + i}
           for i, n in enumerate(NAMES)}
    fig = DP.per_class_bars(per)
    assert [t.name for t in fig.data] == ["precision", "recall", "f1"]
    np.testing.assert_allclose(fig.data[1].y, [0.0, 0.2, 0.4])
    maps = {"a": np.full((4, 4), 0.5), "b": -np.eye(4) * 2}
    mfig = DP.class_mean_maps(maps)
    assert len(mfig.data) == 2 and all(t.zmax == 2 and t.zmin == -2 for t in mfig.data)
    with pytest.raises(InputError, match="not 2-D"):
        DP.class_mean_maps({"a": np.ones(3)})


def test_units_bars_keep_the_largest_magnitudes_on_top():
    fig = DP.units_bar([("x", 0.1), ("y", -3.0), ("<z>", 2.0)], "t", k=2)
    assert list(fig.data[0].y) == ["&lt;z&gt;", "y"]  # bottom to top: the largest last
    top = DP.top_units_per_class({"c1": [("a", 1.0), ("b", -2.0)], "c2": [("d", 0.5)]}, k=1)
    assert [list(t.y) for t in top.data] == [["b"], ["d"]]

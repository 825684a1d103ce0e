"""Generation plots: the heatmap is token_attr, the selected row is outlined, strings escaped."""
from __future__ import annotations

import numpy as np
import pytest

from explainers import Attribution
from explainers.plots import generation_heatmap, logit_lens_heatmap, row_highlight
from models import InputError

ATTR = np.array([[0.5, -1.0, 0.0], [2.0, 0.25, -0.5]])


def result(**extras) -> Attribution:
    extras = {"token_attr": ATTR, "output_tokens": (" good", "<b>"), **extras}
    return Attribution(ATTR.sum(0), ("the", " <script>", " is"), "feature_ablation", -1,
                       " good<b>", extras=extras, modality="generation")


def test_heatmap_is_token_attr_with_the_selected_row_outlined():
    a = result()
    assert a.kind == "generation" and a.plots() == ("token_highlight", "generation_heatmap")
    fig = generation_heatmap(a, selected=1)
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), ATTR)
    assert list(fig.data[0].y) == ["0: good", "1:&lt;b&gt;"]
    assert list(fig.data[0].x) == ["0:the", "1: &lt;script&gt;", "2: is"]
    (shape,) = fig.layout.shapes
    assert (shape.y0, shape.y1, shape.x0, shape.x1) == (0.5, 1.5, -0.5, 2.5)
    assert fig.data[0].zmid == 0.0 and fig.data[0].zmax == 2.0  # diverging, symmetric
    assert not generation_heatmap(a).layout.shapes


def test_row_highlight_shows_that_row_escaped():
    html = row_highlight(result(), 1)
    assert html.startswith('<div class="gb-row" data-row="1">')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'title="the: 2"' in html and 'title=" is: -0.5"' in html


def test_bad_shapes_and_rows_are_one_line_errors():
    with pytest.raises(InputError, match="token_attr has shape"):
        generation_heatmap(result(output_tokens=(" good",)))
    with pytest.raises(InputError, match="out of range 0..1"):
        generation_heatmap(result(), selected=2)
    with pytest.raises(InputError, match="no per-token attributions"):
        generation_heatmap(Attribution(ATTR.sum(0), ("a", "b", "c"), "saliency", -1, "x",
                                       modality="generation"))


def test_logit_lens_cells_name_the_top_token():
    tokens = np.array([[["a", "b"], ["<c>", "d"]]] * 3, dtype=object)
    probs = np.array([[[0.6, 0.3], [0.9, 0.05]]] * 3)
    fig = logit_lens_heatmap(tokens, probs, ("x", "y"), ("embeddings", "layer 1", "output"))
    np.testing.assert_allclose(np.asarray(fig.data[0].z), probs[..., 0])
    assert fig.data[0].text[0][1] == "&lt;c&gt;" and "d: 5.0%" in fig.data[0].customdata[0][1]
    with pytest.raises(InputError, match="logit lens needs"):
        logit_lens_heatmap(tokens, probs[:, :1], ("x", "y"))

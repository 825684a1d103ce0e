"""Nothing cut off: the prediction chart's tick labels, the report's PDF width, long class lists."""
from __future__ import annotations

import numpy as np

from explainers.plots import probabilities_bar
from explainers.report import pdf
from explainers.report.html import _classes


def test_prediction_chart_leaves_room_for_the_100_percent_label_and_the_axis():
    fig = probabilities_bar(np.array([0.7, 0.2, 0.1]), ["a", "b", "c"])
    assert fig.layout.xaxis.range == (0, 1) and fig.layout.xaxis.automargin is True
    # "100%" sits on the right edge of the plot: half of it fell outside a 10 px margin
    assert fig.layout.margin.r >= 30 and fig.layout.margin.b >= 24


def test_pdf_is_laid_out_at_the_printable_width_of_a4():
    printable_px = (210 - 2 * pdf.MARGIN_MM) / 25.4 * 96
    assert pdf.VIEWPORT_WIDTH <= printable_px < pdf.VIEWPORT_WIDTH + 1  # a wider layout is cut


def test_a_thousand_class_names_are_counted_not_listed():
    names = [f"class {i}" for i in range(1000)]
    shown = _classes(names)
    assert shown.startswith("1000 classes: class 0, class 1") and shown.endswith(", ...")
    assert "class 999" not in shown and len(shown) < 400
    assert _classes(["0", "1", "2"]) == "0, 1, 2"

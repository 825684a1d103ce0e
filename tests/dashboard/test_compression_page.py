"""AppTest: the Compression page with a tiny real CNN (sklearn digits) and the real methods."""
from __future__ import annotations

import pytest

from tests.dashboard.helpers import figures, start
from tests.models.test_compress_stubs import digit_model

PAGE = "app_pages/compression.py"


@pytest.fixture
def tiny(monkeypatch):
    from dashboard import cache

    model = digit_model()
    monkeypatch.setattr(cache, "model_names", lambda: ["tiny-digits"])
    monkeypatch.setattr(cache, "get_model", lambda name: model)
    monkeypatch.setattr(cache, "get_samples", lambda name, n=None: model.samples(n))
    return model


def _setup(at, methods):
    at.multiselect(key="compress_methods::tiny-digits").set_value(methods)
    at.number_input(key="compress_n_explain").set_value(1)
    at.number_input(key="compress_n_accuracy").set_value(60)


@pytest.mark.slow
def test_prune_sweep_table_charts_and_keep(tiny):
    at = start("tiny-digits", page=PAGE)
    assert at.title[0].value == "Compression lab"
    _setup(at, ["saliency"])
    at.multiselect(key="compress_amounts").set_value([0.0, 0.9])
    at.button(key="compress_run").click().run()
    assert not at.exception and not at.error
    df = at.dataframe[0].value
    assert list(df["model"]) == ["tiny-digits (pruned 0% L1)", "tiny-digits (pruned 90% L1)"]
    assert df["saliency rho"].iloc[0] == 1.0 and df["sparsity"].iloc[1] > 0.85
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert "Held-out accuracy vs sparsity" in titles
    assert any(t.startswith("Explanation agreement") for t in titles)
    at.button(key="compress_keep::tiny-digits (pruned 90% L1)").click().run()
    assert not at.exception
    kept = at.session_state["compressed_models"]
    assert list(kept) == ["tiny-digits (pruned 90% L1)"]
    assert kept["tiny-digits (pruned 90% L1)"].module is not tiny.module


@pytest.mark.slow
def test_int8_gradient_method_falls_back_with_a_notice(tiny):
    at = start("tiny-digits", page=PAGE)
    _setup(at, ["saliency"])
    at.radio(key="compress_op").set_value("Quantize").run()
    at.button(key="compress_run").click().run()
    assert not at.exception and not at.error
    notes = [i.value for i in at.info]
    assert any("saliency needs gradients" in n and "occlusion" in n for n in notes)
    at.button(key="compress_maps_run").click().run()
    assert not at.exception and not at.error
    maps = [f for f in figures(at) if "occlusion" in f["layout"]["title"]["text"]]
    overlays = [f for f in maps if any(t["type"] == "image" for t in f["data"])]
    assert len(overlays) == 2  # before and after, side by side
    assert len(maps) == 4  # each side draws what Attribution.plots() names: overlay + raw map


def test_amount_chips_get_the_full_width_and_runs_accumulate_in_one_table(tiny):
    at = start("tiny-digits", page=PAGE)
    in_columns = [m.key for c in at.columns for m in c.multiselect]
    assert "compress_amounts" not in in_columns  # a third of the width clipped the last chips
    _setup(at, ["saliency"])
    at.multiselect(key="compress_amounts").set_value([0.5]).run()
    at.button(key="compress_run").click().run()
    first = at.dataframe[0].value
    at.radio(key="compress_op").set_value("Quantize").run()
    at.selectbox(key="compress_mode").set_value("bfloat16").run()
    at.button(key="compress_run").click().run()
    assert not at.exception and not at.error
    both = at.dataframe[0].value
    assert list(both["run"]) == [1, 2]
    assert list(both["operation"]) == ["prune unstructured/global", "quantize bfloat16"]
    assert list(both["model"]) == ["tiny-digits (pruned 50% L1)", "tiny-digits (bfloat16)"]
    assert both.iloc[0]["accuracy"] == first.iloc[0]["accuracy"]  # the first run kept as it was
    assert both.iloc[0]["saliency rho"] == first.iloc[0]["saliency rho"]

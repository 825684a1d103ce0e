"""AppTest: what is compared against is shown: baseline pictures, the sample picked from the list."""
from __future__ import annotations

from dashboard import state
from tests.dashboard.helpers import errors, start


def _captions(at) -> list[str]:
    return [i.proto.imgs[0].caption for i in at.get("image") if i.proto.imgs]


def test_baseline_explorer_shows_each_chosen_baseline():
    at = start("mnist-cnn", page="app_pages/compare.py")
    assert not at.exception and not errors(at)
    chosen = at.multiselect(key=state.BASELINES).value
    assert chosen and [f"baseline: {k}" for k in chosen] == [
        c for c in _captions(at) if c.startswith("baseline: ")]
    at.multiselect(key=state.BASELINES).set_value(["mean"]).run()
    assert [c for c in _captions(at) if c.startswith("baseline: ")] == ["baseline: mean"]


def test_no_baseline_picture_for_a_table():
    at = start("breast-cancer-mlp", page="app_pages/compare.py")
    assert not at.exception and not [c for c in _captions(at) if c.startswith("baseline: ")]


def test_a_sample_picked_from_the_list_is_shown():
    at = start("mnist-cnn", **{state.AUTO_RAN: True})
    at.selectbox(key=state.IMAGE_SAMPLE).set_value(150).run()  # beyond the gallery's thumbnails
    assert not at.exception and not errors(at)
    label = at.selectbox(key=state.IMAGE_SAMPLE).format_func(150)
    assert f"chosen: {label}" in _captions(at)

"""AppTest: the Compare page's models side by side: a built-in beside its kept pruned copy."""
from __future__ import annotations

import numpy as np
import pytest

from dashboard import state
from explainers.side_by_side import side_by_side
from models import load_model
from models.compress import prune_sweep
from tests.dashboard.helpers import decode, errors, figures, start

MODEL = "mnist-cnn"
COMPARE = "app_pages/compare.py"


@pytest.fixture(scope="module")
def pruned():
    ((_, model),) = list(prune_sweep(load_model(MODEL), [0.7], "unstructured", "global"))
    return model


def test_two_models_one_grid_with_their_agreement(pruned):
    kept = {pruned.info.name: pruned}
    at = start(MODEL, page=COMPARE, **{state.COMPRESSED_MODELS: kept,
                                       state.COMPARE_WHAT: "Models"})
    box = at.multiselect(key=f"{state.MODELS_WITH}::{MODEL}")
    assert f"{pruned.info.name} (kept)" in box.options  # same modality only
    assert "imagenet-efficientnet" in box.options and "sentiment-bag" not in box.options
    box.set_value(["kept:" + pruned.info.sha256]).run()
    at.selectbox(key=state.MODELS_METHOD).set_value("saliency").run()
    at.button(key=state.MODELS_RUN).click().run()
    assert not at.exception and not errors(at)
    found = at.session_state[state.MODELS_RESULTS]["found"]
    raw = load_model(MODEL).samples(1, 0)[0][0]
    direct = side_by_side([load_model(MODEL), pruned], raw, "saliency")
    np.testing.assert_allclose(found.spearman, direct.spearman, atol=1e-6)
    np.testing.assert_allclose(found.topk, direct.topk)
    maps = [f for f in figures(at) if any(t.get("type") == "heatmap" for t in f["data"])
            and not f["layout"]["title"]["text"].startswith(("Spearman", "Top-"))]
    assert len([f for f in figures(at) if "Spearman" in f["layout"]["title"]["text"]]) == 1
    spear = next(f for f in figures(at) if "Spearman" in f["layout"]["title"]["text"])
    np.testing.assert_allclose(np.asarray(decode(spear["data"][0]["z"]), float),
                               direct.spearman, atol=1e-6)
    assert len(maps) >= 2 and len(maps) % 2 == 0  # the same figures for each of the two models
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"predicts {direct.labels[0]}") for c in captions)
    if direct.same_class:
        assert at.success[0].value == f"Every model predicts **{direct.labels[0]}**."


def test_compare_page_still_compares_methods_by_default():
    at = start(MODEL, page=COMPARE)
    assert not at.exception and at.button(key=state.COMPARE_RUN)

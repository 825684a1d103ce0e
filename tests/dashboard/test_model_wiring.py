"""AppTest: kept compressed models and users' own models reach the sidebar and the Explain page."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dashboard import cache, state
from dashboard.inputs import read_image
from dashboard.panels import method_label
from tests.dashboard.helpers import decode, errors, start, traces
from tests.e2e.helpers import png_bytes
from tests.models.user_fixtures import IMAGE_SIDECAR, tiny_cnn, write_json

COMPRESSION = "app_pages/compression.py"
EXPLAIN = "app_pages/explain.py"
PRUNED = "mnist-cnn (pruned 50% L1)"


@pytest.mark.slow
def test_kept_pruned_model_is_in_the_sidebar_and_explains_like_a_direct_call():
    from explainers import explain
    from models import load_model
    from models.compress import prune_adapter

    at = start("mnist-cnn", page=COMPRESSION)
    at.multiselect(key="compress_methods::mnist-cnn").set_value(["saliency"])
    at.multiselect(key=state.C_AMOUNTS).set_value([0.5])
    at.number_input(key=state.C_N_EXPLAIN).set_value(1)
    at.number_input(key=state.C_N_ACC).set_value(20)
    at.button(key=state.C_RUN).click().run()
    assert not at.exception and not errors(at), errors(at)
    at.button(key=f"compress_keep::{PRUNED}").click().run()
    kept = at.session_state[state.COMPRESSED_MODELS][PRUNED]
    key = cache.kept_key(kept)
    assert key.startswith("kept:") and kept.info.sha256 in key  # names cannot collide
    assert f"{PRUNED} (kept)" in at.selectbox(key=state.MODEL).options
    at.switch_page(EXPLAIN).run()
    at.selectbox(key=state.MODEL).set_value(key).run()
    at.multiselect(key=f"methods::{key}").set_value(["saliency"])
    at.button(key=state.RUN).click().run()
    assert not at.exception and not errors(at), errors(at)
    (_, a), = at.session_state[state.RESULTS]["items"]
    direct_model = prune_adapter(load_model("mnist-cnn"), 0.5)
    assert cache.kept_key(direct_model) == key  # same weights, same plain key
    raw = direct_model.samples(200, 0)[0][0]
    direct = explain(direct_model, raw, "saliency", target=a.target)
    np.testing.assert_allclose(a.values, direct.values, rtol=1e-5, atol=1e-8)
    heat = decode(traces(at, "heatmap")[0]["z"])
    np.testing.assert_allclose(heat, direct.values, rtol=1e-5, atol=1e-8)
    original = explain(load_model("mnist-cnn"), raw, "saliency", target=a.target)
    assert not np.allclose(original.values, direct.values)  # it really is the pruned copy


def test_unknown_kept_key_is_a_clear_error():
    from models import InputError

    with pytest.raises(InputError, match="no kept model 'kept:0000'"):
        cache.resolve("kept:0000")


@pytest.fixture
def user_model(tmp_path):
    """A TorchScript tiny CNN saved with its sidecar, as the Bring-your-own page stores it."""
    path = tmp_path / "cnn.ts"
    torch.jit.save(torch.jit.script(tiny_cnn()), str(path))
    write_json(tmp_path / "cnn.glassbox.json", {**IMAGE_SIDECAR, "name": "my-cnn"})
    return str(path)


@pytest.mark.slow
def test_user_model_is_in_the_picker_and_offers_only_usable_methods(user_model):
    from explainers import explain, list_methods
    from explainers.preflight import usable_methods

    rng = np.random.default_rng(0)
    png = png_bytes((rng.random((8, 8)) * 255).astype(np.uint8))
    at = start(user_model, page=EXPLAIN, **{
        state.USER_MODELS: {"my-cnn": user_model}, state.IMAGE_SOURCE: "Upload",
        state.LAST_UPLOAD: {user_model: ("x.png", png)}, state.AUTO_RAN: True})
    assert not errors(at), errors(at)
    box = at.selectbox(key=state.MODEL)
    assert "my-cnn (yours)" in box.options and box.value == user_model
    model = cache.get_model(user_model)
    usable = usable_methods(model)
    assert "saliency" in usable and "deeplift" not in usable  # TorchScript: no hooks
    assert set(usable) < set(list_methods(model))
    picker = at.multiselect(key=f"methods::{user_model}")
    assert picker.options == [method_label(m) for m in usable]
    picker.set_value(["saliency"])
    at.button(key=state.RUN).click().run()
    assert not at.exception and not errors(at), errors(at)
    (_, a), = at.session_state[state.RESULTS]["items"]
    direct = explain(model, read_image(png, "x.png"), "saliency", target=a.target)
    np.testing.assert_allclose(a.values, direct.values, rtol=1e-5, atol=1e-8)

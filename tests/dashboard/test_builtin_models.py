"""AppTest with the real built-in models and methods: what the page shows is what explain() gives."""
from __future__ import annotations

import numpy as np
import pytest

import explainers
from dashboard import state
from dashboard.runner import IG_TOLERANCE
from models import load_model
from tests.dashboard.helpers import decode, figures, start, traces


def loadable(name: str):
    try:
        return load_model(name)
    except Exception as exc:  # noqa: BLE001 - every built-in ships: not loading is a failure
        pytest.fail(f"{name} did not load: {exc}")


def test_mnist_first_page_shows_integrated_gradients_of_the_first_sample():
    model = loadable("mnist-cnn")
    at = start("mnist-cnn")
    assert not at.error
    raw, _ = model.samples(200, 0)[0]
    probs = model.predict(raw)
    shown = np.asarray(decode(figures(at)[0]["data"][0]["x"]), float)
    np.testing.assert_allclose(np.sort(shown), np.sort(probs)[-5:], rtol=1e-5)
    items = dict(at.session_state[state.RESULTS]["items"])
    assert set(items) == {"integrated_gradients", "grad_cam"}
    direct = explainers.explain(model, raw, "integrated_gradients", baselines="auto",
                                tolerance=IG_TOLERANCE)  # the Explain page's adaptive IG
    overlay_z = decode(traces(at, "heatmap")[0]["z"])
    np.testing.assert_allclose(overlay_z, direct.values, rtol=1e-4, atol=1e-6)
    assert items["integrated_gradients"].delta is not None


def test_mnist_compare_agreement_equals_metrics_agreement():
    from explainers.metrics.agreement import agreement

    loadable("mnist-cnn")
    at = start("mnist-cnn", page="app_pages/compare.py")
    at.multiselect(key="compare_methods::mnist-cnn").set_value(
        ["saliency", "input_x_gradient", "grad_cam"])
    at.button(key=state.COMPARE_RUN).click().run()
    assert not at.exception and not at.error
    results = [a for _, a in at.session_state[state.COMPARE_RESULTS]["items"]]
    expected = agreement(results, at.slider(key=state.COMPARE_K).value)
    fig = next(f for f in figures(at) if "Spearman" in f["layout"]["title"]["text"])
    np.testing.assert_allclose(decode(fig["data"][0]["z"]), expected.spearman, atol=1e-9)


def test_mnist_baseline_explorer_runs_ig_per_baseline():
    loadable("mnist-cnn")
    at = start("mnist-cnn", page="app_pages/compare.py")
    at.multiselect(key=state.BASELINES).set_value(["black", "blur"])
    at.button(key=state.BASELINE_RUN).click().run()
    assert not at.exception and not at.error
    items = dict(at.session_state[state.BASELINE_RESULTS]["items"])
    assert items["black"].params["baselines"] == "black"
    assert items["blur"].params["baselines"] == "blur"
    assert not np.allclose(items["black"].values, items["blur"].values)


def test_breast_cancer_edited_row_waterfall_and_report():
    model = loadable("breast-cancer-mlp")
    at = start("breast-cancer-mlp")
    key = state.widget_key(state.TABLE_EDITOR, "breast-cancer-mlp", "sample:0")
    at.session_state[key] = {"edited_rows": {0: {"mean radius": 25.0}}, "added_rows": [],
                             "deleted_rows": []}
    at.run()
    at.multiselect(key="methods::breast-cancer-mlp").set_value(["integrated_gradients"])
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    raw = dict(model.samples(200, 0)[0][0], **{"mean radius": 25.0})
    direct = explainers.explain(model, raw, "integrated_gradients", tolerance=IG_TOLERANCE)
    (w,) = traces(at, "waterfall")
    x, labels = np.asarray(decode(w["x"]), float), [str(v) for v in decode(w["y"])]
    named = [i for i, label in enumerate(labels) if "other" not in label]
    top = np.sort(np.abs(direct.values))[::-1][:len(named)]
    np.testing.assert_allclose(np.sort(np.abs(x[named]))[::-1], top, rtol=1e-4)
    np.testing.assert_allclose(x.sum(), direct.values.sum(), rtol=1e-4)  # nothing left out
    at.button(key="explain::build").click().run()  # HTML report is the default format
    assert not at.exception and not at.error
    assert at.download_button(key="explain::dl_report_html").label == "Report (HTML)"
    html = at.session_state[state.REPORT]["html"].decode()
    assert "breast-cancer-mlp" in html and "<html" in html.lower()


def test_sentiment_bag_text_highlight_matches_attribution():
    model = loadable("sentiment-bag")
    at = start("sentiment-bag")
    text = "a wonderful film with a dull ending"
    at.text_area(key=state.TEXT).input(text).run()
    at.multiselect(key="methods::sentiment-bag").set_value(["integrated_gradients"])
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    direct = explainers.explain(model, text, "integrated_gradients", tolerance=IG_TOLERANCE)
    html = next(m.value for m in at.markdown if "gb-token" in m.value)
    for tok, v in zip(direct.units, direct.values, strict=True):
        assert f"{tok}: {float(v):.4g}" in html


@pytest.mark.slow
def test_minilm_attention_page_grid_and_head_matrix():
    model = loadable("sentiment-minilm")
    at = start("sentiment-minilm", page="app_pages/attention.py")
    at.text_area(key=state.TEXT).input("what a lovely day").run()
    assert not at.exception and not at.error
    x = model.preprocess("what a lovely day")
    attn = model.attention(x).detach().numpy()
    layers, heads = attn.shape[:2]
    grid = next(f for f in figures(at) if len(f["data"]) >= layers * heads)
    assert len([t for t in grid["data"] if t["type"] == "heatmap"]) == layers * heads
    at.selectbox(key=state.ATT_LAYER).set_value(2)
    at.selectbox(key=state.ATT_HEAD).set_value(5).run()
    matrix = next(f for f in figures(at) if "layer 2, head 5" in str(f["layout"].get("title")))
    np.testing.assert_allclose(decode(matrix["data"][0]["z"]), attn[2, 5], rtol=1e-4, atol=1e-6)


def test_mnist_uploaded_png_is_predicted_like_the_model_does():
    from tests.e2e.helpers import png_bytes

    model = loadable("mnist-cnn")
    at = start("mnist-cnn")
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    img = np.zeros((56, 56), np.uint8)
    img[8:48, 25:31] = 255  # a thick vertical stroke
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("one.png", png_bytes(img), "image/png").run()
    assert not at.exception and not at.error
    probs = model.predict(img)
    shown = np.asarray(decode(figures(at)[0]["data"][0]["x"]), float)
    np.testing.assert_allclose(np.sort(shown), np.sort(probs)[-5:], rtol=1e-4)
    line = next(m.value for m in at.markdown if m.value.startswith("Predicted"))
    assert f"**{int(probs.argmax())}**" in line


@pytest.mark.slow
def test_imagenet_photo_upload_predicts_a_cat_and_grad_cam_runs():
    from tests.e2e.helpers import photo_png

    loadable("imagenet-efficientnet")
    at = start("imagenet-efficientnet", **{"methods::imagenet-efficientnet": ["grad_cam"]})
    assert state.RESULTS not in at.session_state  # a 224x224 model on CPU waits for a click
    at.radio(key=state.IMAGE_SOURCE).set_value("Upload").run()
    at.file_uploader(key=state.IMAGE_UPLOAD).upload("cat.png", photo_png(), "image/png").run()
    assert not at.exception and not at.error
    line = next(m.value for m in at.markdown if m.value.startswith("Predicted"))
    assert "cat" in line.lower()
    at.button(key=state.RUN).click().run()
    (_, a), = at.session_state[state.RESULTS]["items"]
    assert a.values.shape == (224, 224) and a.values.min() >= 0  # ReLU'd Grad-CAM map


def test_grad_cam_layer_choice_lists_conv_layers_and_reaches_the_method():
    model = loadable("mnist-cnn")
    at = start("mnist-cnn")
    layer = at.selectbox(key="param::grad_cam::layer")
    assert layer.options == ["default (" + model.default_target_layer + ")",
                             *list(model.conv_layers())]
    first = next(iter(model.conv_layers()))
    layer.set_value(first)
    at.multiselect(key="methods::mnist-cnn").set_value(["grad_cam"])
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    (_, a), = at.session_state[state.RESULTS]["items"]
    assert a.params["layer"] == first

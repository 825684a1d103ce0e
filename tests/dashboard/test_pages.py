"""AppTest: Compare and Attention pages with stand-in models (fast); Data set: test_dataset_page.py."""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from dashboard import state
from tests.dashboard.helpers import decode, errors, figures, start


def test_navigation_lists_the_pages(stubs):
    at = start("stub-image")
    at.switch_page("app_pages/compare.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Compare methods"


def test_compare_agreement_matrix_matches_spearman(stubs):
    at = start("stub-image", page="app_pages/compare.py")
    at.multiselect(key="compare_methods::stub-image").set_value(["stub_grad", "stub_abs"])
    at.button(key=state.COMPARE_RUN).click().run()
    assert not at.exception and not at.error
    items = dict(at.session_state[state.COMPARE_RESULTS]["items"])
    rho = spearmanr(items["stub_grad"].values.ravel(), items["stub_abs"].values.ravel())[0]
    spearman_fig = next(f for f in figures(at)
                        if "Spearman" in f["layout"]["title"]["text"])
    z = np.asarray(decode(spearman_fig["data"][0]["z"]), float)
    assert z.shape == (2, 2) and abs(z[0, 1] - rho) < 1e-6 and z[0, 0] == 1
    assert items["stub_abs"].params["seed"] == 0  # the sidebar seed reaches stochastic methods


def test_compare_with_failing_method_keeps_page(stubs):
    at = start("stub-image", page="app_pages/compare.py")
    at.multiselect(key="compare_methods::stub-image").set_value(["stub_grad", "stub_fail"])
    at.button(key=state.COMPARE_RUN).click().run()
    assert not at.exception
    assert errors(at) == ["Stub failure failed: stub_fail cannot explain this input (on purpose)"]
    assert "Agreement needs at least two methods that succeeded." in [i.value for i in at.info]


def test_attention_page_explains_non_transformer(stubs):
    at = start("stub-table", page="app_pages/attention.py")
    assert not at.exception
    assert "has no attention weights" in at.info[0].value


def test_rollout_closed_forms():
    from dashboard.app_pages.attention import rollout

    t = 4
    eye = np.tile(np.eye(t), (3, 2, 1, 1))  # 3 layers, 2 heads attending to themselves only
    np.testing.assert_allclose(rollout(eye), np.eye(t))
    uniform = np.full((1, 1, t, t), 1 / t)  # one layer: 0.5 * uniform + 0.5 * I
    np.testing.assert_allclose(rollout(uniform), 0.5 / t + 0.5 * np.eye(t))
    rng = np.random.default_rng(0)
    a = rng.random((3, 2, t, t))
    a /= a.sum(-1, keepdims=True)
    np.testing.assert_allclose(rollout(a).sum(-1), 1.0)


def test_attention_page_grid_matrix_and_rollout(stubs):
    from dashboard.app_pages.attention import rollout

    model = stubs["stub-transformer"]
    at = start("stub-transformer", page="app_pages/attention.py")
    at.text_area(key=state.TEXT).input("a good film").run()
    assert not at.exception and not at.error
    attn = model.attention(model.preprocess("a good film")).numpy()
    grid = next(f for f in figures(at) if len(f["data"]) == 6)  # 2 layers x 3 heads
    np.testing.assert_allclose(decode(grid["data"][4]["z"]), attn[1, 1], rtol=1e-6)
    at.selectbox(key=state.ATT_LAYER).set_value(0)
    at.selectbox(key=state.ATT_HEAD).set_value(2)
    at.selectbox(key=state.ATT_TOKEN).set_value(1).run()
    figs = figures(at)
    matrix = next(f for f in figs if "layer 0, head 2" in str(f["layout"]["title"]))
    np.testing.assert_allclose(decode(matrix["data"][0]["z"]), attn[0, 2], rtol=1e-6)
    roll = next(f for f in figs if "rollout (all layers)" in str(f["layout"]["title"]))
    np.testing.assert_allclose(decode(roll["data"][0]["z"]), rollout(attn), rtol=1e-6)
    bars = [f for f in figs if f["data"][0]["type"] == "bar"]
    np.testing.assert_allclose(decode(bars[0]["data"][0]["y"]), attn[0, 2, 1], rtol=1e-6)

"""AppTest: Compare and Attention pages with stand-in models (fast); Data set: test_dataset_page.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch
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
    """The one rollout (the method's): identity stays identity, one uniform layer is
    0.5 uniform + 0.5 I, rows stay stochastic."""
    from explainers.methods.attention import rollout

    t = 4
    eye = torch.eye(t).repeat(3, 2, 1, 1)  # 3 layers, 2 heads attending to themselves only
    torch.testing.assert_close(rollout(eye), torch.eye(t))
    uniform = torch.full((1, 1, t, t), 1 / t)
    torch.testing.assert_close(rollout(uniform), 0.5 / t + 0.5 * torch.eye(t))
    a = torch.rand(3, 2, t, t, generator=torch.Generator().manual_seed(0))
    a /= a.sum(-1, keepdim=True)
    torch.testing.assert_close(rollout(a).sum(-1), torch.ones(t))


@pytest.fixture
def with_rollout(stubs):
    """The stand-in registry plus the real attention_rollout (the Attention page's source)."""
    from explainers import base
    from explainers.methods.attention import AttentionRolloutMethod

    base.REGISTRY["attention_rollout"] = AttentionRolloutMethod()
    return stubs


def test_attention_page_grid_matrix_and_rollout(with_rollout):
    from explainers import explain

    model = with_rollout["stub-transformer"]
    at = start("stub-transformer", page="app_pages/attention.py")
    at.text_area(key=state.TEXT).input("a good film").run()
    assert not at.exception and not at.error
    attn = model.attention(model.preprocess("a good film")).numpy()
    direct = explain(model, "a good film", "attention_rollout")
    grid = next(f for f in figures(at) if len(f["data"]) == 6)  # 2 layers x 3 heads
    np.testing.assert_allclose(decode(grid["data"][4]["z"]), attn[1, 1], rtol=1e-6)
    at.selectbox(key=state.ATT_LAYER).set_value(0)
    at.selectbox(key=state.ATT_HEAD).set_value(2)
    at.selectbox(key=state.ATT_TOKEN).set_value(1).run()
    figs = figures(at)
    matrix = _titled(figs, "layer 0, head 2")
    np.testing.assert_allclose(decode(matrix["data"][0]["z"]), attn[0, 2], rtol=1e-6)
    from_token = _titled(figs, "attention from")
    np.testing.assert_allclose(decode(from_token["data"][0]["y"]), attn[0, 2, 1], rtol=1e-6)
    # the rollout shown is explain()'s own (extras["rollout"]), not a second computation
    roll = _titled(figs, "rollout (all layers)")
    np.testing.assert_array_equal(decode(roll["data"][0]["z"]), direct.extras["rollout"])
    row = _titled(figs, "rollout from")
    np.testing.assert_array_equal(decode(row["data"][0]["y"]), direct.extras["rollout"][1])


def test_attention_page_draws_explain_results_once(with_rollout, monkeypatch):
    """One explain() call per input, shared with the Explain page and cached across reruns."""
    from explainers import base

    method = base.REGISTRY["attention_rollout"]
    calls = []
    real = type(method).run
    monkeypatch.setattr(type(method), "run",
                        lambda self, ctx: calls.append(ctx.raw) or real(self, ctx))
    at = start("stub-transformer", page="app_pages/attention.py")
    at.text_area(key=state.TEXT).input("a good film").run()
    at.selectbox(key=state.ATT_LAYER).set_value(0).run()
    assert not at.exception and not at.error
    assert calls.count("a good film") == 1 and len(set(calls)) == len(calls)


def _titled(figs: list[dict], text: str) -> dict:
    return next(f for f in figs if text in str(f["layout"].get("title", {}).get("text", "")))


def test_special_tokens_are_left_out_of_bars_and_said_so(stubs):
    model = stubs["stub-text"]
    at = start("stub-text", **{state.AUTO_RAN: True})
    at.multiselect(key="methods::stub-text").set_value(["stub_tokens"])
    at.text_area(key=state.TEXT).input("a good film").run()
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.error
    (_, a), = at.session_state[state.RESULTS]["items"]
    bar = _titled(figures(at), "top")
    assert [str(y) for y in decode(bar["data"][0]["y"])][::-1] == \
        [u for u in sorted(a.units[1:-1], key=lambda u: -abs(a.values[a.units.index(u)]))]
    caption = next(c.value for c in at.caption if "Left out of the bars" in c.value)
    for i in (0, len(a.units) - 1):  # [CLS] and [SEP], each with its score
        assert f"{a.units[i]} {a.values[i]:.3g}" in caption
    html = next(m.value for m in at.markdown if "gb-token" in m.value)
    assert "[CLS]" in html  # the highlight still shows every token
    at.checkbox(key="show_special::explain::stub_tokens::top_units_bar").check().run()
    bar = _titled(figures(at), "top")
    assert set(decode(bar["data"][0]["y"])) == set(model.tokens("a good film"))

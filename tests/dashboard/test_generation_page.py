"""AppTest: the Explain page's generation view on a tiny random GPT-2 (the real CausalLMAdapter):
continuation, heatmap, clickable tokens, attention, logit lens, bad input kept in place."""
from __future__ import annotations

import html
import re

import numpy as np
import pytest
import torch

from dashboard import generation_inputs, state
from tests.dashboard.gen_stub import StubGenAttention, StubGenOcclusion, occlusion, stub_gpt
from tests.dashboard.helpers import decode, errors, figures, start

PROMPT = "the film is"


@pytest.fixture
def gen(monkeypatch):
    """The sidebar lists one generation model; the registry holds the two checkable methods."""
    from dashboard import cache, runner
    from explainers import base

    base._load_methods()  # register the real methods first, so none lands in the stand-in table
    model = stub_gpt()
    methods = {cls.name: cls() for cls in (StubGenOcclusion, StubGenAttention)}
    methods["attention_rollout"] = base.REGISTRY["attention_rollout"]  # the Attention page's own
    monkeypatch.setattr(cache, "model_names", lambda: ["stub-gpt"])
    monkeypatch.setattr(cache, "get_model", lambda name: model)
    monkeypatch.setattr(base, "REGISTRY", methods)
    monkeypatch.setattr(base, "_load_methods", lambda: None)
    monkeypatch.setattr(runner, "list_methods",
                        lambda m: [k for k, v in methods.items() if v.supports(m)])
    monkeypatch.setattr(generation_inputs, "PREFERRED", ("stub_gen_occlusion",))
    return model


def heatmaps(at) -> list[dict]:
    """The prompt x continuation heatmaps (their titles say so)."""
    return [f for f in figures(at) if "prompt × continuation" in f["layout"]["title"]["text"]]


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def explain(at, methods: list[str] | None = None):
    if methods is not None:
        at.multiselect(key="gen_methods::stub-gpt").set_value(methods)
    at.button(key=state.GEN_RUN).click().run()
    assert not at.exception, at.exception
    return at


def test_continuation_heatmap_and_clicked_token_row(gen):
    at = start("stub-gpt")
    cont = gen.generate(PROMPT, 12)
    assert f"<b style=\"background:#fff3bf\">{html.escape(cont)}</b>" in markdown(at)  # at once
    assert not heatmaps(at)
    explain(at)
    (fig,) = heatmaps(at)
    expected = occlusion(gen, PROMPT, cont)  # the drop in log p of each token, prompt token masked
    np.testing.assert_allclose(decode(fig["data"][0]["z"]), expected, rtol=1e-5, atol=1e-6)
    assert len(fig["data"][0]["y"]) == expected.shape[0] and not fig["layout"].get("shapes")
    pills = at.pills[0]
    assert len(pills.options) == expected.shape[0]
    pills.set_value(pills.options[2]).run()  # click the third generated token
    assert not at.exception
    (fig,) = heatmaps(at)
    (shape,) = fig["layout"]["shapes"]
    assert (shape["y0"], shape["y1"]) == (1.5, 2.5)  # the outline sits on row 2
    row = re.search(r'<div class="gb-row" data-row="2">(.*?)</div></div>', markdown(at))
    assert row, "the clicked token's row highlight is missing"
    shown = [float(v) for v in re.findall(r'title="[^"]*: ([-0-9.e+]+)"', row.group(1))]
    np.testing.assert_allclose(shown, expected[2], rtol=1e-3, atol=1e-6)


def test_bad_input_is_one_line_in_place_and_results_are_kept(gen):
    at = explain(start("stub-gpt"))
    kept = at.session_state[state.GEN_RESULTS]
    at.text_area(key=state.GEN_PROMPT).set_value("   ").run()
    assert errors(at) == ["the prompt is empty: type a few words for the model to continue"]
    assert heatmaps(at) and at.session_state[state.GEN_RESULTS] is kept  # earlier results stay
    at.text_area(key=state.GEN_PROMPT).set_value("the film is " * 30).run()
    (line,) = errors(at)  # the prompt alone is past the context
    assert re.search(r"has \d+ tokens; this model reads at most 63", line), line
    assert heatmaps(at)
    words = "the film is good " * 40
    prompt = gen.tokenizer.decode(gen.tokenizer.encode(words)[:58])  # 58 tokens: fits alone
    at.text_area(key=state.GEN_PROMPT).set_value(prompt).run()
    (line,) = errors(at)  # ... but not with 12 new tokens
    assert "reads at most 64 positions" in line and "\n" not in line, line
    assert heatmaps(at)
    at.text_area(key=state.GEN_PROMPT).set_value(PROMPT)
    at.radio(key=state.GEN_TARGET_MODE).set_value(generation_inputs.MINE).run()
    assert errors(at) == ["the target continuation is empty: type one, or explain the "
                          "model's own"]
    assert not at.exception


def test_target_and_contrast_reach_the_method_and_repeat_is_cached(gen):
    at = start("stub-gpt")
    at.radio(key=state.GEN_TARGET_MODE).set_value(generation_inputs.MINE).run()
    at.text_input(key=state.GEN_TARGET).set_value(" a good film")
    at.checkbox(key=state.GEN_CONTRAST_ON).check().run()
    at.text_input(key=state.GEN_CONTRAST).set_value(" a bad film").run()
    explain(at, ["stub_gen_occlusion", "stub_gen_attention"])
    (_, a), (_, refused) = at.session_state[state.GEN_RESULTS]["items"]
    assert a.target_label == " a good film" and a.params["contrast"] == " a bad film"
    want = occlusion(gen, PROMPT, " a good film").sum(0) - occlusion(gen, PROMPT, " a bad film"
                                                                     ).sum(0)
    np.testing.assert_allclose(a.values, want, rtol=1e-5, atol=1e-6)
    assert isinstance(refused, str) and "cannot explain a contrast" in refused
    assert errors(at) == [refused]
    first = at.session_state[state.WALL]["stub_gen_occlusion"]
    explain(at)
    assert at.session_state[state.WALL]["stub_gen_occlusion"] < max(first, 0.05)  # cache hit


def test_attention_grid_rollout_and_logit_lens(gen):
    at = explain(start("stub-gpt"), ["stub_gen_attention"])
    cont = gen.generate(PROMPT, 12)
    n = len(gen.tokens(PROMPT)) + len(gen.continuation_ids(cont))
    grid = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("attention: layers")]
    assert len(grid) == 1 and len(grid[0]["data"]) == 2 * 4  # 2 layers x 4 heads
    (roll,) = [f for f in figures(at) if f["layout"]["title"]["text"] == "attention rollout "
               "(all layers)"]
    r = np.asarray(decode(roll["data"][0]["z"]), float)
    assert r.shape == (n, n) and np.allclose(np.triu(r, 1), 0)  # causal: no look-ahead
    np.testing.assert_allclose(r.sum(1), 1.0, rtol=1e-5)
    (lens,) = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("logit lens")]
    z = np.asarray(decode(lens["data"][0]["z"]), float)
    ids = torch.cat([gen.encode(PROMPT), torch.tensor([gen.continuation_ids(cont)])], 1)
    with torch.no_grad():
        final = torch.softmax(gen.forward(ids)[0], -1).max(-1).values.numpy()
    assert z.shape == (3, n)  # embeddings + 2 layers
    np.testing.assert_allclose(z[-1], final, rtol=1e-4)  # the last layer is the real output


def test_user_strings_are_escaped(gen):
    at = start("stub-gpt", **{state.GEN_PROMPT: "<b>bold</b> & the film"})
    explain(at)
    text = markdown(at)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; the film" in text
    assert "<b>bold</b>" not in text


def test_other_pages_take_a_language_model_without_crashing(gen):
    at = start("stub-gpt", page="app_pages/attention.py")
    grid = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("attention: layers")]
    assert len(grid) == 1 and len(grid[0]["data"]) == 2 * 4  # the prompt's attention, 2 x 4 heads
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, at.exception
    assert any("is a language model" in i.value for i in at.info)
    at.switch_page("app_pages/trust.py").run()
    assert not at.exception, at.exception
    assert any("on the Explain page first" in i.value for i in at.info)


def test_spans_reach_every_method(gen, monkeypatch):
    seen = {}
    orig = StubGenOcclusion.explain

    def spy(self, model, raw, target, **params):
        seen.update(params)
        params.pop("spans", None)
        return orig(self, model, raw, target, **params)

    monkeypatch.setattr(StubGenOcclusion, "explain", spy)
    at = start("stub-gpt", **{state.GEN_SPANS: "0:2"})
    assert any("0:'the'" in c.value for c in at.caption)  # the token indices are shown
    explain(at)
    assert seen["spans"] == "0:2" and not at.error


def test_memory_is_shown_and_too_much_is_refused_in_one_line(gen, monkeypatch):
    import models.memory

    at = start("stub-gpt")
    assert any("One explanation needs about" in c.value for c in at.caption)
    monkeypatch.setattr(models.memory, "free_bytes", lambda device: 1000)
    at.run()
    (line,) = errors(at)
    assert line.startswith("one explanation needs about") and "but cpu has 0 MB free" in line
    assert not [b for b in at.button if b.key == state.GEN_RUN]  # no Explain while it won't fit


def test_uploaded_causal_lm_zip_gets_the_generation_view(tmp_path, monkeypatch):
    """The issue's first bug: a zipped GPT-2 LM folder used to become a 2-class classifier."""
    from dashboard import cache
    from tests.dashboard.helpers import APP, AppTest
    from tests.models.lm_fixtures import save
    from tests.models.user_fixtures import zip_folder

    monkeypatch.setenv("GLASSBOX_USER_MODEL_DIR", str(tmp_path / "store"))
    zipped = zip_folder(save("gpt2", tmp_path / "lm"), tmp_path / "my-lm.zip")
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[state.MODEL] = "mnist-cnn"
    at.run()
    at.switch_page("app_pages/byom.py").run()
    at.file_uploader(key="byom_upload").upload("my-lm.zip", zipped.read_bytes(),
                                               "application/zip")
    at.run()
    at.button(key="byom_load").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (path,) = at.session_state[state.USER_MODELS].values()
    at.session_state[state.MODEL] = path
    at.switch_page("app_pages/explain.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Explain a continuation"
    continuation = cache.get_model(path).generate(PROMPT, 12)
    assert any(html.escape(continuation) in m.value for m in at.markdown)


@pytest.fixture
def real(monkeypatch):
    """The tiny GPT-2 in the sidebar with the real method registry (Captum underneath)."""
    from dashboard import cache

    model = stub_gpt()
    monkeypatch.setattr(cache, "model_names", lambda: ["stub-gpt"])
    monkeypatch.setattr(cache, "get_model", lambda name: model)
    return model


def test_real_methods_heatmap_is_explain_token_attr(real):
    import explainers

    at = start("stub-gpt")
    assert at.multiselect(key="gen_methods::stub-gpt").value == ["feature_ablation",
                                                                  "integrated_gradients"]
    explain(at)
    assert not at.error, errors(at)
    cont = real.generate(PROMPT, 12)
    maps = heatmaps(at)
    for fig, method in zip(maps, ("feature_ablation", "integrated_gradients"), strict=True):
        direct = explainers.explain(real, PROMPT, method, target=cont)
        np.testing.assert_allclose(decode(fig["data"][0]["z"]), direct.extras["token_attr"],
                                   rtol=1e-4, atol=1e-6)
        assert len(at.pills[0].options) == len(direct.extras["output_tokens"])
    at.pills[0].set_value(at.pills[0].options[1]).run()
    assert [f["layout"]["shapes"][0]["y0"] for f in heatmaps(at)] == [0.5, 0.5]


def test_attention_with_a_contrast_says_so_in_its_panel(real):
    at = start("stub-gpt")
    at.checkbox(key=state.GEN_CONTRAST_ON).check().run()
    at.text_input(key=state.GEN_CONTRAST).set_value(" a bad film").run()
    explain(at, ["attention", "feature_ablation"])
    (line,) = errors(at)
    assert "contrast" in line and "\n" not in line
    (_, a), = [(n, a) for n, a in at.session_state[state.GEN_RESULTS]["items"]
               if not isinstance(a, str)]
    assert a.params["contrast"] == " a bad film" and len(heatmaps(at)) == 1


def test_trust_page_scores_the_explained_continuation(real):
    at = explain(start("stub-gpt"))
    cont = real.generate(PROMPT, 12)
    at.switch_page("app_pages/trust.py").run()
    at.button(key=state.TRUST_RUN).click().run()
    assert not at.exception and not at.error, errors(at)
    report = at.session_state[state.TRUST_RESULTS]["report"]
    assert report.modality == "generation" and set(report.ranking) == {
        "feature_ablation", "integrated_gradients"}
    full = real.log_prob(PROMPT, cont)
    for row in report.methods:  # nothing deleted yet: the curve starts at log p(continuation)
        assert row.faithfulness.deletion[0] == pytest.approx(full, rel=1e-4, abs=1e-4)
    assert any("Spearman" in f["layout"]["title"]["text"] for f in figures(at))
    at.checkbox(key=state.TRUST_HEAVY).check().run()
    at.button(key=state.TRUST_RUN).click().run()
    assert not at.exception and not at.error, errors(at)
    assert at.session_state[state.TRUST_RESULTS]["report"].heavy


def test_html_report_of_a_continuation(real):
    at = explain(start("stub-gpt"))
    at.button(key="gen::build").click().run()
    assert not at.exception and not at.error, errors(at)
    files = at.session_state[state.REPORT]
    assert html.escape(real.generate(PROMPT, 12)) in files["html"].decode("utf-8")


def test_whole_continuation_methods_show_their_highlight_without_a_heatmap(real):
    at = explain(start("stub-gpt"), ["lime", "feature_ablation"])
    assert not at.error, errors(at)
    lime = dict(at.session_state[state.GEN_RESULTS]["items"])["lime"]
    assert "token_attr" not in lime.extras and len(heatmaps(at)) == 1
    assert any("whole continuation only" in c.value for c in at.caption)
    at.pills[0].set_value(at.pills[0].options[0]).run()
    assert not at.exception and heatmaps(at)[0]["layout"]["shapes"][0]["y0"] == -0.5

"""Language-model explanations: units (words, spans), contrast, greedy targets, attention,
logit lens and one-line errors for bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers import explain, get_method, list_methods
from explainers.generation import is_causal, logit_lens, parse_spans
from models.errors import InputError
from tests.explainers.gen_models import CONTRAST, PROMPT, TARGET, lm


def test_language_model_methods_listed():
    names = set(list_methods(lm("gpt2")))
    assert {"feature_ablation", "lime", "kernel_shap", "integrated_gradients", "saliency",
            "input_x_gradient", "attention", "attention_rollout"} <= names
    assert "grad_cam" not in names and "smoothgrad" not in names
    spec = {p.name: p for p in get_method("lime").params_for(lm("gpt2"))}
    assert spec["n_samples"].default == 25 and "feature_mask" not in spec
    assert {"max_new_tokens", "contrast"} <= set(spec)


@pytest.mark.parametrize("method", ["feature_ablation", "integrated_gradients"])
def test_contrast_is_the_difference_of_the_two_attributions(method):
    m = lm("gpt2")
    a = explain(m, PROMPT, method, target=TARGET, contrast=CONTRAST)
    t = explain(m, PROMPT, method, target=TARGET)
    c = explain(m, PROMPT, method, target=CONTRAST)
    np.testing.assert_allclose(a.values, t.values - c.values, rtol=1e-4, atol=1e-6)
    assert a.output == pytest.approx(t.output - c.output, rel=1e-5)
    np.testing.assert_allclose(a.extras["token_attr"], t.extras["token_attr"], rtol=1e-4,
                               atol=1e-6)
    assert a.extras["contrast"] == CONTRAST and a.params["contrast"] == CONTRAST


def test_greedy_continuation_when_no_target():
    m = lm("gpt2")
    a = explain(m, PROMPT, "saliency", max_new_tokens=5)
    ids = m.generate_ids(PROMPT, 5)
    assert a.extras["token_attr"].shape == (len(ids), len(m.tokens(PROMPT)))
    assert a.target_label == m.tokenizer.decode(ids.tolist())
    assert a.params["max_new_tokens"] == 5


def test_words_merge_pieces_and_keep_additivity():
    m = lm("gpt2")
    prompt = "the acting is superb"
    tokens = m.tokens(prompt)
    a = explain(m, prompt, "integrated_gradients", target=TARGET)
    w = explain(m, prompt, "integrated_gradients", target=TARGET, merge_words=True)
    words = [u.strip() for u in w.units]
    assert words == prompt.split() and len(tokens) > len(words)
    groups = w.extras["groups"]
    for g in range(len(words)):
        assert w.values[g] == pytest.approx(a.values[groups == g].sum(), abs=1e-6)


def test_spans_are_removed_together_by_feature_ablation():
    m = lm("gpt2")
    a = explain(m, PROMPT, "feature_ablation", target=TARGET, spans="0:2")
    n = len(m.tokens(PROMPT))
    assert len(a.units) == n - 1 and a.params["spans"] == [[0, 2]]
    ids = m.encode(PROMPT).clone()
    ids[0, :2] = 0  # the span replaced by the baseline token, as Captum does
    full = torch.cat([ids, torch.tensor([m.continuation_ids(TARGET)])], dim=1)
    with torch.no_grad():
        logp = torch.log_softmax(m.forward(full)[0], -1)
    cont = m.continuation_ids(TARGET)
    t = ids.shape[1]
    removed = sum(float(logp[t - 1 + k, c]) for k, c in enumerate(cont))
    assert a.values[0] == pytest.approx(a.output - removed, abs=1e-4)


def test_span_syntax():
    assert parse_spans("0:2, 3:5", 6) == [(0, 2), (3, 5)]
    assert parse_spans([(4, 6), (0, 1)], 6) == [(0, 1), (4, 6)]
    assert parse_spans("2:-1", 6) == [(2, 5)]
    for bad in ("0:2,1:3", "0-2", "5:9", [(3, 3)]):
        with pytest.raises(InputError):
            parse_spans(bad, 6)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_attention_is_causal_and_normalised(kind):
    m = lm(kind)
    a = explain(m, PROMPT, "attention", target=TARGET)
    att = a.extras["attention"]
    n = len(m.tokens(PROMPT)) + len(m.continuation_ids(TARGET))
    assert att.shape[-2:] == (n, n) and len(a.extras["sequence_tokens"]) == n
    assert is_causal(att)
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
    r = explain(m, PROMPT, "attention_rollout", target=TARGET)
    assert is_causal(r.extras["rollout"])
    np.testing.assert_allclose(r.extras["rollout"].sum(-1), 1.0, atol=1e-5)
    g = explain(m, PROMPT, "attention_rollout", target=TARGET, variant="gradient")
    assert is_causal(g.extras["rollout"]) and np.isfinite(g.values).all()


def test_logit_lens_last_layer_is_the_model_output():
    m = lm("gpt2")
    lens = logit_lens(m, PROMPT, k=3)
    t = len(m.tokens(PROMPT))
    assert lens.probs.shape == (m.module.config.n_layer + 1, t, 3)
    assert lens.layers[0] == "embeddings" and lens.layers[-1] == "output"
    probs = m.predict(PROMPT)
    top = np.argsort(-probs)[:3]
    np.testing.assert_array_equal(lens.token_ids[-1, -1], top)
    np.testing.assert_allclose(lens.probs[-1, -1], probs[top], rtol=1e-4)
    assert np.all(np.diff(lens.probs, axis=-1) <= 1e-7)  # most likely first


def one_line_input_error(fn) -> str:
    with pytest.raises(InputError) as info:
        fn()
    msg = str(info.value)
    assert msg and "\n" not in msg
    return msg


def test_bad_inputs_are_one_line_errors():
    m = lm("gpt2")
    assert "empty" in one_line_input_error(lambda: explain(m, "  ", "saliency", target=TARGET))
    assert "empty" in one_line_input_error(lambda: explain(m, PROMPT, "saliency", target=" "))
    long = "the film " * 200
    assert "tokens" in one_line_input_error(lambda: explain(m, long, "saliency", target=TARGET))
    one_line_input_error(lambda: explain(m, PROMPT, "saliency", target=3))
    one_line_input_error(lambda: explain(m, PROMPT, "lime", target=TARGET, feature_mask="grid"))
    one_line_input_error(lambda: explain(m, PROMPT, "attention", target=TARGET,
                                         contrast=CONTRAST))
    one_line_input_error(lambda: explain(m, PROMPT, "feature_ablation", target=TARGET,
                                         contrast=TARGET))


def test_continuation_target_on_a_classifier_is_an_input_error(bag):
    msg = one_line_input_error(lambda: explain(bag, "a fine film", "saliency",
                                               target=" superb"))
    assert "continuation" in msg and "classes" in msg

"""review-gpt: loads offline, its card's perplexity comes back from the shipped weights, greedy is stable."""
from __future__ import annotations

import functools
import json

import pytest
import torch

from models import list_models, load_model
from models.builtin import review_gpt
from models.builtin import review_gpt_train as rt
from models.builtin.causal_lm import CausalLMAdapter
from tests.models.test_builtin_bag import need_rotten_tomatoes


@functools.cache
def model() -> CausalLMAdapter:
    return load_model("review-gpt", device="cpu")


def test_loads_offline_as_a_small_gpt2(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert "review-gpt" in list_models()
    m = review_gpt.load(device="cpu")
    assert isinstance(m, CausalLMAdapter) and type(m.module).__name__ == "GPT2LMHeadModel"
    assert m.info.modality == "generation" and m.info.class_names == ()
    card = m.info.card
    cfg = m.module.config
    assert (cfg.n_layer, cfg.n_embd, cfg.n_positions) == (rt.LAYERS, rt.WIDTH, rt.CONTEXT)
    assert card["parameters"] == sum(p.numel() for p in m.module.parameters())
    assert len(m.tokenizer) == cfg.vocab_size == rt.VOCAB
    assert m.module.config._attn_implementation == "eager"
    assert card["credits"].startswith("Movie-review snippets") and "Pang" in card["credits"]
    assert card["training"]["seconds"] > 0 and card["licence"]


def test_shipped_files_are_small_half_precision_safetensors():
    weights = review_gpt.MODEL_DIR / "model.safetensors"
    assert weights.stat().st_size < 8 << 20
    from models.user.causal import stored_weights

    count, by_dtype = stored_weights(review_gpt.MODEL_DIR)
    assert set(by_dtype) == {"F16"} and count == model().info.card["parameters"]
    assert not list(review_gpt.MODEL_DIR.glob("*.bin"))


def test_tokenizer_is_byte_level_bpe_and_lowercases():
    tok = model().tokenizer
    spec = json.loads(tok.backend_tokenizer.to_str())
    assert spec["model"]["type"] == "BPE"
    assert spec["pre_tokenizer"]["type"] == "ByteLevel" and spec["decoder"]["type"] == "ByteLevel"
    assert tok.encode("The Film") == tok.encode("the film")
    assert tok.decode(tok.encode("a gripping, funny film!")) == "a gripping, funny film!"
    assert model().tokens("the acting is") == ("the", " acting", " is")


@pytest.mark.slow  # ~2,500 held-out snippets through the model (a few seconds) + the data file
def test_heldout_perplexity_matches_card_and_beats_unigram():
    need_rotten_tomatoes()
    m, card = model(), model().info.card
    train_texts, held_texts = rt.corpus()
    assert (len(train_texts), len(held_texts)) == (card["split"]["train"], card["split"]["held_out"])
    held = rt.encode(m.tokenizer, held_texts)
    ppl, n = rt.perplexity(m.forward, held)
    assert n == card["heldout_tokens"]
    assert ppl == pytest.approx(card["heldout_perplexity"], rel=1e-4)
    uni = rt.unigram_perplexity(rt.encode(m.tokenizer, train_texts), held, len(m.tokenizer))
    assert uni == pytest.approx(card["unigram_perplexity"], rel=1e-6)
    assert ppl < uni / 2  # clearly better than word frequencies alone


def test_perplexity_is_exp_of_mean_log_prob():
    """The card's metric, on one snippet, equals exp(-log_prob / tokens) from the adapter."""
    m = model()
    ids = rt.encode(m.tokenizer, ["a gripping, funny film."])[0]
    ppl, n = rt.perplexity(m.forward, [ids])
    first = m.tokenizer.decode(ids[:1])
    rest = m.tokenizer.decode(ids[1:])
    assert n == len(ids) - 1
    assert ppl == pytest.approx(float(torch.exp(torch.tensor(-m.log_prob(first, rest) / n))),
                                rel=1e-4)


def test_unigram_baseline_closed_form():
    # vocab 4, training tokens after the first: [1, 1, 2] -> p = (c + 1) / (3 + 4)
    ppl = rt.unigram_perplexity([[0, 1, 1, 2]], [[0, 1, 3]], 4)
    assert ppl == pytest.approx((1 / ((3 / 7) * (1 / 7))) ** 0.5)


def test_greedy_continuations_are_deterministic_and_recorded():
    m = model()
    recorded = m.info.card["greedy_continuations"]
    assert set(recorded) == set(review_gpt.SAMPLE_PROMPTS)
    for prompt, text in recorded.items():
        assert m.generate(prompt, max_new_tokens=12) == text
        assert m.generate(prompt, max_new_tokens=12) == text
    assert m.generate("the film is", 12).strip()  # it writes something

"""CausalLMAdapter on a tiny random GPT-2 and Llama: greedy generate, log_prob, attention, shapes."""
from __future__ import annotations

import pytest
import torch

from models.base import HasAttention, HasEmbeddingLayer, ModelAdapter, ModelInfo
from models.builtin.causal_lm import CausalLMAdapter, clean_token
from models.errors import InputError
from tests.models.lm_fixtures import build

PROMPT = "the film is a"


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def lm(request) -> tuple[CausalLMAdapter, torch.nn.Module]:
    model, tok = build(request.param)
    info = ModelInfo(name=f"tiny-{request.param}", modality="generation", class_names=())
    return CausalLMAdapter(model, tok, info, device="cpu"), model


def test_protocols_and_info(lm):
    m, _ = lm
    assert isinstance(m, ModelAdapter) and isinstance(m, HasEmbeddingLayer)
    assert isinstance(m, HasAttention)
    assert m.info.modality == "generation" and m.info.class_names == ()
    assert m.embedding_layer is m.module.get_input_embeddings()
    assert m.context_length == 64
    assert not any(p.requires_grad for p in m.module.parameters())


def test_generate_is_hf_greedy(lm):
    m, model = lm
    ids = m.encode(PROMPT)
    ref = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=8, pad_token_id=m.pad_token_id,
                         eos_token_id=m.eos_token_id)[0, ids.shape[1]:]
    assert m.generate_ids(PROMPT, max_new_tokens=8).tolist() == ref.tolist()
    # greedy = argmax of forward() at every step
    seq = ids
    for expected in ref.tolist():
        nxt = int(m.forward(seq)[0, -1].argmax())
        assert nxt == expected
        seq = torch.cat([seq, torch.tensor([[nxt]])], dim=1)
    text = m.generate(PROMPT, max_new_tokens=8)
    full = m.tokenizer.decode(ids[0].tolist() + ref.tolist(), skip_special_tokens=True)
    assert PROMPT + text == full or text == m.tokenizer.decode(ref, skip_special_tokens=True)
    assert m.generate(PROMPT, max_new_tokens=8) == text  # deterministic


def test_log_prob_is_sum_of_log_softmax(lm):
    m, model = lm
    cont = " a great movie"
    p = m.tokenizer.encode(PROMPT)
    c = m.tokenizer.encode(cont, add_special_tokens=False)
    with torch.no_grad():
        logits = model(torch.tensor([p + c])).logits[0]
    direct = sum(float(torch.log_softmax(logits[len(p) - 1 + i], -1)[t]) for i, t in enumerate(c))
    assert m.log_prob(PROMPT, cont) == pytest.approx(direct, abs=1e-4)
    assert m.log_prob(PROMPT, cont) < 0
    # one token: the log of predict()'s probability
    first = m.tokenizer.decode(c[:1])
    assert m.log_prob(PROMPT, first) == pytest.approx(float(torch.log(
        torch.tensor(m.predict(PROMPT)[c[0]]))), abs=1e-4)


def test_attention_causal_and_normalised(lm):
    m, model = lm
    ids = m.encode(PROMPT)
    att = m.attention(ids)
    t = ids.shape[1]
    cfg = model.config
    assert att.shape == (cfg.num_hidden_layers, cfg.num_attention_heads, t, t)
    assert torch.allclose(att.sum(-1), torch.ones(att.shape[:-1]), atol=1e-5)
    assert torch.all(att.triu(diagonal=1) == 0)
    assert torch.all(att[..., 0, 0] == 1)


def test_shapes_and_hidden_states(lm):
    m, model = lm
    ids = m.encode(PROMPT)
    t, v = ids.shape[1], model.config.vocab_size
    batch = ids.repeat(3, 1)
    assert m.forward(batch).shape == (3, t, v)
    assert m.forward(batch, attention_mask=torch.ones_like(batch)).shape == (3, t, v)
    assert m.preprocess(PROMPT).tolist() == ids.tolist()
    probs = m.predict(PROMPT)
    assert probs.shape == (v,) and abs(probs.sum() - 1) < 1e-4
    hs = m.hidden_states(ids)
    assert hs.shape == (model.config.num_hidden_layers + 1, t, model.config.hidden_size)
    lens = m.logit_lens(ids)
    assert lens.shape == (model.config.num_hidden_layers + 1, t, v)
    # the last layer's read-out is the model's own next-token distribution
    assert torch.allclose(lens[-1], torch.log_softmax(m.forward(ids)[0], -1), atol=1e-4)
    assert m.memory_bytes() > m.weight_bytes() > 0


def test_tokens_words_and_units(lm):
    m, _ = lm
    toks = m.tokens(PROMPT)
    assert len(toks) == m.encode(PROMPT).shape[1] == len(m.word_ids(PROMPT))
    assert m.units(PROMPT) == toks
    assert not any("Ġ" in t for t in toks)
    body = [t for t, w in zip(toks, m.word_ids(PROMPT), strict=True) if w is not None]
    assert "".join(body) == PROMPT
    words = [w for w in m.word_ids(PROMPT) if w is not None]
    assert len(set(words)) == len(PROMPT.split())


def test_clean_token():
    assert clean_token("Ġact") == " act"
    assert clean_token("Ċ") == "\n"
    assert clean_token("▁act") == " act"
    assert clean_token("<0x0A>") == "\n"


@pytest.mark.parametrize("bad", ["", "   ", 3, None])
def test_bad_prompt_is_input_error(lm, bad):
    m, _ = lm
    with pytest.raises(InputError):
        m.generate(bad)
    with pytest.raises(InputError):
        m.log_prob("the film", bad)


def test_prompt_longer_than_context(lm):
    m, _ = lm
    with pytest.raises(InputError, match="at most 63"):
        m.encode("great " * 200)
    long = " ".join(["the film"] * 12)
    room = 64 - m.encode(long).shape[1]
    assert 0 < room < 50
    assert len(m.generate_ids(long, max_new_tokens=50)) <= room

"""sentiment-minilm: recorded accuracy, WordPiece tokens, attention, shipped layers, input errors."""
from __future__ import annotations

import functools

import pytest
import torch

from models import HasAttention, HasEmbeddingLayer, InputError, load_model
from models.builtin import minilm, text_common
from models.builtin.common import WEIGHTS

pytestmark = pytest.mark.slow  # loads a 90 MB transformer


@functools.cache
def model():
    return load_model("sentiment-minilm", device="cpu")


def test_shipped_weights_give_recorded_accuracy_on_the_bundled_sample():
    m = model()
    rows = text_common.samples()
    acc = minilm.accuracy(m, [t for t, _ in rows], [y for _, y in rows])
    assert acc == pytest.approx(m.info.card["bundled_sample_accuracy"], abs=1e-6)
    assert m.info.card["heldout_accuracy"] >= 0.80


def test_shipped_weights_give_recorded_accuracy_on_the_full_held_out_split():
    from tests.models.test_builtin_bag import need_rotten_tomatoes

    need_rotten_tomatoes()
    from models.data import rotten_tomatoes

    s = rotten_tomatoes()
    acc = minilm.accuracy(model(), s.x_test, s.y_test)
    assert acc == pytest.approx(model().info.card["heldout_accuracy"], abs=1e-6)
    assert acc >= 0.80


def test_only_the_tuned_layers_and_head_ship():
    from safetensors.torch import load_file

    path = WEIGHTS / "sentiment-minilm.safetensors"
    assert path.stat().st_size < 10_500_000
    keys = set(load_file(str(path)))
    assert keys == set(minilm.shipped_keys(model().module.state_dict()))
    assert {k.split(".")[3] for k in keys if k.startswith("encoder.")} == {"4", "5"}
    assert "head.weight" in keys and not any("embeddings" in k for k in keys)


def test_tokens_word_ids_and_special_tokens():
    m = model()
    assert isinstance(m, HasEmbeddingLayer) and isinstance(m, HasAttention)
    text = "An unforgettable performance"
    ids, toks, words = m.preprocess(text), m.tokens(text), m.word_ids(text)
    assert ids.shape == (1, len(toks)) == (1, len(words))
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and words[0] is None and words[-1] is None
    assert m.units(text) == toks
    pieces = [t for t, w in zip(toks, words, strict=True) if w == 1]
    assert len(pieces) > 1 and "".join(p.removeprefix("##") for p in pieces) == "unforgettable"
    assert m.embedding_layer is m.module.encoder.embeddings.word_embeddings
    assert (m.pad_token_id, m.mask_token_id) == (0, 103)


def test_attention_shape_and_rows_sum_to_one():
    m = model()
    x = m.preprocess("a gripping, funny film")
    att = m.attention(x)
    assert att.shape == (6, 12, x.shape[1], x.shape[1])
    torch.testing.assert_close(att.sum(-1), torch.ones(6, 12, x.shape[1]))


def test_forward_uses_an_all_ones_mask():
    m = model()
    x = m.preprocess("a gripping, funny film")
    x_masked = x.clone()
    x_masked[0, 2] = m.mask_token_id
    assert not torch.allclose(m.forward(x), m.forward(x_masked))
    torch.testing.assert_close(m.forward(x), m.module(x, torch.ones_like(x)))


def test_sentiment_direction():
    m = model()
    pos = m.info.class_names.index("positive")
    assert m.predict("a wonderful, moving and beautifully acted film")[pos] > 0.5
    assert m.predict("a dull, tedious and lifeless mess")[pos] < 0.5


@pytest.mark.parametrize("raw, message", [
    ("", "empty"),
    (" ", "empty"),
    (None, "take a str, not a NoneType"),
    (b"bytes", "not a bytes"),
])
def test_bad_inputs_raise_input_error(raw, message):
    with pytest.raises(InputError, match=message):
        model().preprocess(raw)

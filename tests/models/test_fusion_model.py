"""digit-text-fusion: adapter contract, tokenizer, errors, samples and the held-out accuracy."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from models import (
    HasBaselines,
    HasEmbeddingLayer,
    HasImage,
    HasSamples,
    HasTargetLayer,
    InputError,
    ModelAdapter,
    load_model,
)
from models.builtin import fusion as fm


@functools.cache
def model() -> fm.FusionAdapter:
    return load_model("digit-text-fusion", device="cpu")


def a_digit() -> np.ndarray:
    raw, _ = model().samples(1, seed=0)[0]
    return np.asarray(raw["image"])


def test_contract_shapes_and_probabilities():
    m = model()
    assert isinstance(m, ModelAdapter) and m.info.modality == "fusion"
    for cap in (HasBaselines, HasEmbeddingLayer, HasImage, HasSamples, HasTargetLayer):
        assert isinstance(m, cap), cap.__name__
    raw = {"image": a_digit(), "text": "a handwritten seven"}
    image, ids = m.preprocess(raw)
    assert image.shape == (1, 1, 28, 28) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert ids.shape == (1, 3) and ids.dtype == torch.long
    assert m.tokens(raw) == m.units(raw) == ("a", "handwritten", "seven")
    with torch.no_grad():
        logits = m.forward(image, ids)
    assert logits.shape == (1, 10)
    probs = m.predict(raw)
    assert probs.shape == (10,) and np.isclose(probs.sum(), 1.0, atol=1e-5) and (probs >= 0).all()
    np.testing.assert_allclose(probs, torch.softmax(logits, -1)[0].numpy(), atol=1e-6)


def test_deterministic_frozen_and_carded():
    m = model()
    raw = {"image": a_digit(), "text": "something"}
    np.testing.assert_array_equal(m.predict(raw), m.predict(raw))
    assert all(not mod.training for mod in m.module.modules())
    assert not any(p.requires_grad for p in m.module.parameters())
    card = m.info.card
    assert card["licence"] and "CC BY-SA 3.0" in card["licence"] and card["credits"]
    assert len(m.info.description) < 120 and len(m.info.sha256) == 64


def test_forward_embeddings_matches_forward():
    m = model()
    image, ids = m.preprocess({"image": a_digit(), "text": "definitely the number 3"})
    with torch.no_grad():
        torch.testing.assert_close(m.forward_embeddings(image, m.embed(ids)), m.forward(image, ids))


def test_tokenizer_unknown_words_empty_text_and_pad_is_absence():
    m = model()
    assert m.tokens({"image": a_digit(), "text": "Zorblax SEVEN!"}) == ("[UNK]", "seven")
    assert m.tokens({"image": a_digit(), "text": "  "}) == ("[PAD]",)
    # [PAD] is the zero embedding and the text branch sums: padding changes nothing
    image, ids = m.preprocess({"image": a_digit(), "text": "a four"})
    padded = torch.cat([ids, torch.full((1, 3), m.pad_token_id)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(m.forward(image, padded), m.forward(image, ids))
    assert m.mask_token_id is None and m.pad_token_id == 0


@pytest.mark.parametrize("raw, match", [
    ("a seven", "dict with keys"),
    ({"image": np.zeros((28, 28))}, "dict with keys"),
    ({"image": np.zeros((28, 28)), "text": 7}, "must be a str"),
    ({"image": "no/such/file.png", "text": "seven"}, "does not exist"),
    ({"image": np.zeros((28, 28)), "text": "seven " * 40}, "at most 32"),
])
def test_bad_inputs_raise_input_error(raw, match):
    with pytest.raises(InputError, match=match):
        model().preprocess(raw)


def test_images_are_read_like_mnist():
    m = model()
    digit = a_digit()
    raw = {"image": digit, "text": "x"}
    assert m.display_image(raw).shape == (28, 28, 3) and m.display_image(raw).dtype == np.uint8
    np.testing.assert_array_equal(m.display_image(raw)[:, :, 0], digit)
    inverted = {"image": 255 - digit, "text": "x"}  # dark ink on white paper is inverted
    np.testing.assert_array_equal(m.display_image(inverted), m.display_image(raw))


def test_baselines_background_and_target_layers():
    m = model()
    image, ids = m.preprocess({"image": a_digit(), "text": "a two"})
    for kind in m.baseline_kinds:
        b = m.baseline(image, kind)
        assert b.shape == image.shape and b.dtype == image.dtype
    assert torch.equal(m.baseline(image, "black"), torch.zeros_like(image))
    b_img, b_ids = m.baseline((image, ids), "black")
    assert torch.equal(b_ids, torch.full_like(ids, m.pad_token_id))
    with pytest.raises(InputError, match="black"):
        m.baseline(image, "purple")
    bg = m.background(4, seed=0)
    assert bg.shape == (4, 1, 28, 28) and torch.equal(bg, m.background(4, seed=0))
    assert list(m.conv_layers())[-1] == m.default_target_layer == "conv2"


def test_samples_are_held_out_and_reproducible():
    from models.builtin.fusion_data import TRAIN_TEMPLATES

    m = model()
    samples = m.samples(20, seed=3)
    assert len(samples) == 20 and samples == m.samples(20, seed=3)
    assert all(0 <= y < 10 and set(raw) == {"image", "text"} for raw, y in samples)
    train_phrases = {t.format(w=w) for ts in TRAIN_TEMPLATES.values() for t in ts
                     for w in ("seven", "7")}
    assert not any(raw["text"] in train_phrases for raw, _ in samples)


def test_attention_fusion_option_builds_and_runs():
    cfg = fm.FusionConfig(vocab_size=50, fusion="attention")
    net = fm.FusionNet(cfg).eval()
    out = net(torch.rand(3, 1, 28, 28), torch.randint(0, 50, (3, 5)))
    assert out.shape == (3, 10)
    with pytest.raises(ValueError, match="attention"):
        fm.FusionConfig(vocab_size=50, fusion="sum")


def test_heldout_accuracy_is_recomputed_and_meets_the_bar():
    from models.builtin.fusion_train import evaluate

    result = evaluate(model())
    assert result["n"] > 1800
    assert result["accuracy"] >= 0.95
    assert result["accuracy"] == pytest.approx(model().info.card["heldout_accuracy"], abs=2e-3)
    # both modalities are needed: blank images are read from the text, vague text from the image
    assert result["per_condition"]["blank/names"] >= 0.95
    assert result["per_condition"]["clean/vague"] >= 0.95

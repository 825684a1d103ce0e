"""imagenet-efficientnet: a cat is a cat, preprocessing, baselines, layers and input errors."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image

from models import InputError, load_model
from models.builtin import efficientnet
from models.data import skimage_photo


@functools.cache
def model():
    return load_model("imagenet-efficientnet", device="cpu")


def test_chelsea_is_an_egyptian_cat_and_coffee_an_espresso():
    m = model()
    names = m.info.class_names
    assert len(names) == 1000 == len(set(names))
    assert names[int(m.predict(skimage_photo("chelsea")).argmax())] == "Egyptian cat"
    assert names[int(m.predict(skimage_photo("coffee")).argmax())] == "espresso"


def test_weights_come_from_the_package_with_their_sha256():
    m = model()
    assert m.info.sha256 == efficientnet.sha256_of(efficientnet._weights_file())
    assert m.info.card["weights_sha256"] == m.info.sha256


def test_preprocessing_resizes_shorter_side_and_centre_crops():
    img = np.zeros((300, 600, 3), dtype=np.uint8)
    img[:, 150:450] = 255  # the central square is white, the sides black
    out = efficientnet.to_input_image(img)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert out[:, 2:-2].min() > 250  # only the central 300x300 square survives the crop
    x = model().preprocess(img)
    assert x.shape == (1, 3, 224, 224)
    torch.testing.assert_close(x[0, :, 100, 100], torch.full((3,), (255 - 127) / 128))


def test_grayscale_rgba_and_pil_inputs():
    m = model()
    gray = skimage_photo("camera")[..., 0]
    assert m.preprocess(gray).shape == (1, 3, 224, 224)
    rgba = np.dstack([skimage_photo("coffee"), np.full((400, 600), 255, np.uint8)])
    torch.testing.assert_close(m.preprocess(rgba), m.preprocess(skimage_photo("coffee")))
    torch.testing.assert_close(m.preprocess(Image.fromarray(gray)), m.preprocess(gray))


def test_baselines_and_background():
    m = model()
    x = m.preprocess(skimage_photo("chelsea"))
    black = m.baseline(x, "black")
    torch.testing.assert_close(black, torch.full_like(x, -127 / 128))
    blur = m.baseline(x, "blur")
    assert blur.std() < x.std()
    mean = m.baseline(x, "mean")
    torch.testing.assert_close(mean[0, :, 0, 0], (torch.tensor([0.485, 0.456, 0.406]) * 255 - 127) / 128)
    bg = m.background(3, seed=1)
    assert bg.shape == (3, 3, 224, 224) and torch.equal(bg, m.background(3, seed=1))
    with pytest.raises(InputError, match="'zero'"):
        m.baseline(x, "zero")


def test_target_layers_end_with_the_last_conv():
    m = model()
    layers = m.conv_layers()
    assert m.default_target_layer == "_conv_head" == list(layers)[-1]
    feats = {}
    handle = layers["_conv_head"].register_forward_hook(lambda mod, i, o: feats.update(o=o))
    try:
        m.forward(m.preprocess(skimage_photo("coffee")))
    finally:
        handle.remove()
    assert feats["o"].shape == (1, 1280, 7, 7)


def test_samples_have_their_recorded_classes():
    m = model()
    samples = dict((img.shape, y) for img, y in m.samples())
    assert samples[skimage_photo("coffee").shape] == m.info.class_names.index("espresso")
    assert len(m.samples()) == len(efficientnet.SAMPLE_PHOTOS)


@pytest.mark.parametrize("raw, message", [
    ("missing.jpg", "does not exist"),
    (b"bytes", "cannot use a bytes as an image"),
    (np.zeros((4, 4, 2)), "shape"),
])
def test_bad_inputs_raise_input_error(raw, message):
    with pytest.raises(InputError, match=message):
        model().preprocess(raw)

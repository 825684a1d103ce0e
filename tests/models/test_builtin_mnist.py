"""mnist-cnn: recorded accuracy, raw image conversion, baselines, samples and input errors."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image

from models import InputError, load_model
from models.builtin import mnist
from models.builtin.common import SAMPLES, WEIGHTS


@functools.cache
def model():
    return load_model("mnist-cnn", device="cpu")


def test_shipped_weights_give_recorded_accuracy():
    m = model()
    acc = mnist.accuracy(m)
    assert acc == pytest.approx(m.info.card["heldout_accuracy"], abs=1e-6)
    assert acc >= 0.97
    assert m.info.card["split"] == {"method": m.info.card["split"]["method"],
                                    "train": 4000, "held_out": 1000}


def test_weights_are_small_safetensors():
    path = WEIGHTS / "mnist-cnn.safetensors"
    assert path.stat().st_size < 1_000_000
    assert len(model().info.sha256) == 64


def test_sample_pngs_are_held_out_digits_the_model_gets_right():
    m = model()
    for digit in range(10):
        path = SAMPLES / f"mnist-digit-{digit}.png"
        x = m.preprocess(path)
        assert x.shape == (1, 1, 28, 28) and 0 <= x.min() and x.max() <= 1
        assert int(m.predict(path).argmax()) == digit


def test_array_pil_and_float_inputs_agree():
    m = model()
    digit, _ = m.samples(1)[0]
    x = m.preprocess(digit)
    torch.testing.assert_close(x[0, 0] * 255, torch.tensor(digit, dtype=torch.float32))
    assert torch.equal(x, m.preprocess(Image.fromarray(digit)))
    assert torch.equal(x, m.preprocess(digit.astype(np.float32) / 255.0))
    assert torch.equal(x, m.preprocess(np.stack([digit] * 3, axis=-1)))


def test_black_on_white_and_large_drawings_are_converted():
    m = model()
    digit, label = next((d, y) for d, y in m.samples(50, seed=2) if y == 3)
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.NEAREST))
    assert m.display_image(big).shape == (28, 28, 3)
    assert int(m.predict(big).argmax()) == label
    assert int(m.predict(255 - big).argmax()) == label  # dark ink on white paper
    np.testing.assert_array_equal(mnist.to_digit(255 - big), mnist.to_digit(big))
    centred = mnist.to_digit(big)
    ys, xs = np.nonzero(centred > 32)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 <= 21  # ink scaled to ~20 px


def test_baselines():
    m = model()
    x = m.preprocess(m.samples(1)[0][0])
    assert torch.equal(m.baseline(x, "black"), torch.zeros_like(x))
    blur = m.baseline(x, "blur")
    assert blur.sum().item() == pytest.approx(x.sum().item(), rel=0.05)  # blur keeps the mass
    assert blur.max() < x.max()
    noise = m.baseline(x, "noise")
    assert torch.equal(noise, m.baseline(x, "noise")) and 0 <= noise.min() and noise.max() <= 1
    mean = m.baseline(x, "mean")
    torch.testing.assert_close(mean, m.background(4000).mean(0, keepdim=True))
    with pytest.raises(InputError, match="'zero'.*black, blur, noise, mean"):
        m.baseline(x, "zero")


def test_target_layers():
    m = model()
    assert list(m.conv_layers()) == ["conv1", "relu1", "conv2", "relu2"]
    assert m.default_target_layer == "relu2"
    assert isinstance(m.conv_layers()["conv2"], torch.nn.Conv2d)


def test_default_grad_cam_layer_gives_a_visible_map():
    """Grad-CAM on the default layer is not blank for any bundled digit (it was on raw conv2)."""
    from explainers import explain

    m = model()
    for path in sorted(SAMPLES.glob("mnist-digit-*.png")):
        a = explain(m, path, "grad_cam")
        assert a.values.max() > 0, path.name


@pytest.mark.parametrize("raw, message", [
    ("no/such/file.png", "does not exist"),
    (42, "cannot use a int as an image"),
    ({"image": 1}, "cannot use a dict as an image"),
    (np.zeros((3, 4, 5, 6)), "shape"),
    (np.zeros((0, 4)), "empty"),
    (np.array([["a"]]), "dtype"),
])
def test_bad_inputs_raise_input_error(raw, message):
    with pytest.raises(InputError, match=message):
        model().preprocess(raw)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    with pytest.raises(InputError, match="could not read .not-an-image.png. as an image"):
        model().preprocess(bad)

"""What an image baseline looks like: the model's normalisation inverted, closed forms."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explainers.baselines import baseline_picture
from models import load_model
from models.errors import InputError


@pytest.fixture(scope="module")
def net():
    return load_model("imagenet-efficientnet")


def test_black_is_black_under_any_normalisation(net):
    mnist = load_model("mnist-cnn")
    for model in (mnist, net):
        raw = model.samples(1, 0)[0][0]
        assert not baseline_picture(model, raw, "black").any()


def test_imagenet_mean_baseline_shows_the_mean_colour(net):
    from models.builtin.efficientnet import IMAGENET_MEAN_RGB

    pic = baseline_picture(net, net.samples(1, 0)[0][0], "mean")
    assert pic.shape == (224, 224, 3)
    np.testing.assert_allclose(pic[0, 0], np.asarray(IMAGENET_MEAN_RGB) * 255, atol=1)


def test_noise_baseline_is_the_seeded_uniform_noise_in_picture_units(net):
    raw = net.samples(1, 0)[0][0]
    pic = baseline_picture(net, raw, "noise")
    noise = torch.rand((1, 3, 224, 224), generator=torch.Generator().manual_seed(0))[0] * 255
    np.testing.assert_allclose(pic, np.moveaxis(noise.numpy(), 0, -1), atol=1.01)


def test_mnist_mean_is_the_training_mean_digit():
    from models.builtin.mnist import mean_image

    model = load_model("mnist-cnn")
    pic = baseline_picture(model, model.samples(1, 0)[0][0], "mean")
    want = np.asarray(mean_image(), float).reshape(28, 28) * 255
    np.testing.assert_allclose(pic[..., 0], want, atol=1.01)
    assert (pic[..., 0] == pic[..., 2]).all()  # grey shown as grey


def test_a_text_model_has_no_picture():
    with pytest.raises(InputError, match="no picture"):
        baseline_picture(load_model("sentiment-bag"), "good film", "pad")

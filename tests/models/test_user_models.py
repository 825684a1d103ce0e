"""Bring your own model: each format loads and explains; unsafe or broken files are refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, LayerIntegratedGradients

from models import ModelLoadError, load_model
from models.base import HasAttention, HasEmbeddingLayer, HasTargetLayer, sha256_of
from models.errors import UnknownNameError
from models.user import load_user_model, register_architecture
from tests.models.user_fixtures import (
    IMAGE_SIDECAR,
    FixedBatch,
    TinyCNN,
    save_bert,
    save_vit,
    tiny_cnn,
    write_json,
    zip_folder,
)

RNG = np.random.default_rng(0)
IMAGE = (RNG.random((8, 8)) * 255).astype(np.uint8)


def expected_input(img: np.ndarray = IMAGE) -> torch.Tensor:
    """The sidecar's preprocessing by hand: /255, (x - 0.5) / 0.25, [1, 1, 8, 8]."""
    return ((torch.tensor(img, dtype=torch.float32) / 255 - 0.5) / 0.25)[None, None]


def ig_complete(model, x: torch.Tensor, target: int) -> None:
    """IG completeness through the adapter: sum(attr) = f(x) - f(0) (up to the delta)."""
    attr, delta = IntegratedGradients(model.forward).attribute(
        x, torch.zeros_like(x), target=target, n_steps=64, return_convergence_delta=True)
    with torch.no_grad():
        gap = (model.forward(x) - model.forward(torch.zeros_like(x)))[0, target]
    assert attr.shape == x.shape
    assert abs(attr.sum().item() - gap.item()) < 1e-2 + 0.05 * abs(gap.item())
    assert abs(delta.item()) < 1e-2 + 0.05 * abs(gap.item())


# ----------------------------------------------------------------- formats
def test_torchscript_with_json_sidecar(tmp_path):
    net = tiny_cnn()
    path = tmp_path / "cnn.ts"
    torch.jit.save(torch.jit.script(net), path)
    write_json(tmp_path / "cnn.json", IMAGE_SIDECAR)
    m = load_user_model(path, device="cpu")
    assert m.info.class_names == ("cat", "dog", "fox") and m.info.input_size == (8, 8)
    assert m.info.source == str(path) and m.info.sha256 == sha256_of(path)
    x = m.preprocess(IMAGE)
    assert torch.allclose(x, expected_input(), atol=1e-6)
    assert torch.allclose(m.forward(x), net(x), atol=1e-5)
    assert m.predict(IMAGE).sum() == pytest.approx(1.0, abs=1e-5)
    assert m.display_image(IMAGE).shape == (8, 8, 3)
    ig_complete(m, x, target=1)


def test_traced_fixed_batch_runs_in_chunks(tmp_path):
    net = tiny_cnn(FixedBatch)
    path = tmp_path / "fixed.pt"
    torch.jit.save(torch.jit.trace(net, torch.zeros(1, 1, 8, 8)), path)
    m = load_user_model(path, sidecar={"input_size": 8, "channels": 1})
    assert m.info.card["batch_chunk"] == 1
    xs = torch.randn(5, 1, 8, 8)
    assert torch.allclose(m.forward(xs), torch.cat([net(xs[i:i + 1]) for i in range(5)]), atol=1e-5)
    ig_complete(m, xs[:1], target=0)


@pytest.mark.slow
def test_torch_export_infers_shape_without_sidecar(tmp_path):
    net = tiny_cnn()
    path = tmp_path / "cnn.pt2"
    torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 8, 8),)), path)
    m = load_user_model(path)
    assert m.info.modality == "image" and m.info.input_size == (8, 8)
    assert m.info.class_names == ("class_0", "class_1", "class_2")
    assert m.info.sha256 == sha256_of(path)
    xs = torch.randn(4, 1, 8, 8)  # exported with batch 1: the adapter runs 1 at a time
    assert torch.allclose(m.forward(xs), net(xs), atol=1e-5)
    ig_complete(m, xs[:1], target=2)


def test_safetensors_with_yaml_sidecar(tmp_path):
    from safetensors.torch import save_file

    register_architecture("test-tiny-cnn", TinyCNN, modality="image", input_size=(8, 8), channels=1)
    net = tiny_cnn(seed=3)
    path = tmp_path / "w.safetensors"
    save_file(net.state_dict(), path)
    (tmp_path / "w.yaml").write_text("architecture: test-tiny-cnn\nmean: 0.5\nstd: 0.25\n"
                                     "class_names: [cat, dog, fox]\ntarget_layer: conv1\n")
    m = load_user_model(path)
    assert isinstance(m, HasTargetLayer) and m.default_target_layer == "conv1"
    assert list(m.conv_layers()) == ["conv1", "conv2"]
    x = expected_input()
    assert torch.allclose(m.forward(m.preprocess(IMAGE)), net(x), atol=1e-5)
    ig_complete(m, x, target=0)


def test_weights_only_state_dict_for_builtin_architecture(tmp_path):
    from models.builtin.mnist import MnistCNN

    torch.manual_seed(0)
    net = MnistCNN().eval()
    path = tmp_path / "digits.pt"
    torch.save(net.state_dict(), path)
    m = load_user_model(path, sidecar={"architecture": "mnist-cnn"})
    assert m.info.class_names == tuple("0123456789") and m.info.input_size == (28, 28)
    img = (RNG.random((28, 28)) * 255).astype(np.uint8)
    x = torch.tensor(img, dtype=torch.float32)[None, None] / 255
    assert torch.allclose(m.forward(m.preprocess(img)), net(x), atol=1e-5)


def test_load_model_routes_paths_to_user_loader(tmp_path):
    path = tmp_path / "cnn.ts"
    torch.jit.save(torch.jit.script(tiny_cnn()), path)
    write_json(tmp_path / "cnn.glassbox.json", IMAGE_SIDECAR)
    assert load_model(str(path)).info.source == str(path)


def test_state_dict_that_does_not_fit_is_named(tmp_path):
    register_architecture("test-tiny-cnn", TinyCNN, modality="image", input_size=(8, 8), channels=1)
    path = tmp_path / "w.pt"
    torch.save({"fc.weight": torch.zeros(3, 64)}, path)
    with pytest.raises(ModelLoadError, match="missing"):
        load_user_model(path, sidecar={"architecture": "test-tiny-cnn"})
    with pytest.raises(UnknownNameError, match="test-tiny-cnn"):
        load_user_model(path, sidecar={"architecture": "resnet-9000"})


# ----------------------------------------------------------------- Hugging Face
@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    return save_bert(tmp_path_factory.mktemp("bert") / "tiny-bert")


@pytest.mark.slow
def test_hf_text_dir_and_zip(bert_dir, tmp_path):
    m = load_user_model(bert_dir)
    assert m.info.modality == "text" and m.info.class_names == ("negative", "positive")
    assert isinstance(m, HasEmbeddingLayer) and isinstance(m, HasAttention)
    text = "a lovely clever movie"
    ids = m.preprocess(text)
    toks = m.tokens(text)
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and len(toks) == ids.shape[1]
    assert m.units(text) == toks and len(m.word_ids(text)) == len(toks)
    att = m.attention(ids)
    assert att.shape == (2, 2, len(toks), len(toks))
    assert torch.allclose(att.sum(-1), torch.ones(2, 2, len(toks)), atol=1e-5)  # softmax rows
    base = torch.full_like(ids, m.pad_token_id)
    base[0, 0], base[0, -1] = ids[0, 0], ids[0, -1]
    lig = LayerIntegratedGradients(m.forward, m.embedding_layer)
    attr, delta = lig.attribute(ids, base, target=1, n_steps=64, return_convergence_delta=True)
    assert attr.shape[:2] == ids.shape and abs(delta.item()) < 1e-3
    zipped = load_user_model(zip_folder(bert_dir, tmp_path / "bert.zip"))
    assert zipped.info.sha256 == sha256_of(tmp_path / "bert.zip")
    assert np.allclose(zipped.predict(text), m.predict(text), atol=1e-6)


@pytest.mark.slow
def test_hf_image_classifier_with_processor(tmp_path):
    from transformers import ViTForImageClassification

    folder = save_vit(tmp_path / "vit")
    m = load_user_model(folder)
    assert m.info.modality == "image" and m.info.input_size == (16, 16)
    assert m.info.class_names == ("red", "green", "blue")
    img = (RNG.random((30, 20, 3)) * 255).astype(np.uint8)
    x = m.preprocess(img)
    assert x.shape == (1, 3, 16, 16) and m.display_image(img).shape == (16, 16, 3)
    ref = ViTForImageClassification.from_pretrained(folder).eval()
    assert torch.allclose(m.forward(x), ref(pixel_values=x).logits, atol=1e-5)
    # display_image is the processed input un-normalised (ViT: mean = std = 0.5)
    assert np.allclose(m.display_image(img) / 255, x[0].permute(1, 2, 0).numpy() * 0.5 + 0.5, atol=1 / 255)
    ig_complete(m, x, target=2)


def test_hf_dir_without_safetensors_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"architectures": ["BertForSequenceClassification"]}')
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickled")
    with pytest.raises(ModelLoadError, match="safetensors"):
        load_user_model(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "config.json").write_text('{"auto_map": {"AutoModel": "evil.Model"}}')
    with pytest.raises(ModelLoadError, match="remote code"):
        load_user_model(tmp_path)


def test_tabular_weights_for_builtin_mlp_take_dicts_frames_and_arrays(tmp_path):
    import pandas as pd
    from safetensors.torch import save_file

    from models.builtin.tabular import TabularMLP

    torch.manual_seed(0)
    net = TabularMLP(n_features=4, n_classes=3).eval()
    net.mean.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    path = tmp_path / "mlp.safetensors"
    save_file(net.state_dict(), path)
    names = ["age", "height", "weight", "score"]
    m = load_user_model(path, sidecar={"architecture": "breast-cancer-mlp", "feature_names": names,
                                       "architecture_kwargs": {"n_features": 4, "n_classes": 3}})
    assert m.info.modality == "tabular" and m.units(None) == tuple(names)
    row = {"age": 5.0, "height": 1.5, "weight": 70.0, "score": -2.0}
    x = torch.tensor([list(row.values())])
    for raw in (row, pd.DataFrame([row]), np.array(list(row.values()))):
        assert torch.allclose(m.forward(m.preprocess(raw)), net(x), atol=1e-5)
    with pytest.raises(ValueError, match="score"):
        m.preprocess({k: v for k, v in row.items() if k != "score"})
    ig_complete(m, x, target=1)

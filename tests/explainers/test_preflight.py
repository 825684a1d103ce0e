"""Preflight verdicts agree with what Captum and the registered methods actually do."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift, GuidedBackprop, Saliency

import explainers
from explainers.preflight import (
    DEEPLIFT,
    GUIDED,
    HOOKED,
    MINIMUM,
    preflight,
    rule,
    run_check,
    usable_methods,
)
from models.user import load_user_model, register_architecture
from tests.models.user_fixtures import (
    IMAGE_SIDECAR,
    FunctionalReLU,
    ReusedReLU,
    TinyCNN,
    save_bert,
    tiny_cnn,
)

IMAGE = (np.random.default_rng(1).random((8, 8)) * 255).astype(np.uint8)


def from_weights(tmp_path, cls: type[TinyCNN]):
    """Weights saved as a state dict, loaded back as a user model of architecture cls."""
    name = f"test-{cls.__name__}"
    register_architecture(name, cls, modality="image", input_size=(8, 8), channels=1)
    path = tmp_path / f"{cls.__name__}.pt"
    torch.save(tiny_cnn(cls).state_dict(), path)
    return load_user_model(path, sidecar={**IMAGE_SIDECAR, "architecture": name})


def compiled(tmp_path, kind: str):
    net = tiny_cnn()
    if kind == "torchscript":
        path = tmp_path / "m.ts"
        torch.jit.save(torch.jit.script(net), path)
        return load_user_model(path, sidecar=IMAGE_SIDECAR)
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(net, (torch.zeros(1, 1, 8, 8),)), path)
    return load_user_model(path, sidecar=IMAGE_SIDECAR)


def grads(m, x):
    return Saliency(m.forward).attribute(x, target=0, abs=False)


def test_plain_cnn_passes_every_rule(tmp_path):
    m = from_weights(tmp_path, TinyCNN)
    p = preflight(m, IMAGE)
    assert p.forward_ok and "logits [1, 3]" in p.forward_note
    f = p.facts
    assert f["compiled"] == "" and not f["functional"] and not f["reused"]
    assert f["conv_layers"] == ["conv1", "conv2"] and f["target_layer"] == "conv2"
    assert all(rule(k, m, f) == "" for k in MINIMUM if k not in ("attention", "attention_rollout"))
    assert "no attention" in rule("attention", m, f)
    x = m.preprocess(IMAGE)
    _, delta = DeepLift(m.module).attribute(x, torch.zeros_like(x), target=0,
                                            return_convergence_delta=True)
    assert abs(delta.item()) < 1e-5  # rescale rule holds: DeepLift is exact here
    assert not torch.allclose(GuidedBackprop(m.module).attribute(x, target=0), grads(m, x))


def test_reused_relu_fails_deeplift_and_says_which(tmp_path):
    m = from_weights(tmp_path, ReusedReLU)
    p = preflight(m, IMAGE)
    assert p.facts["reused"] == ["relu1"]
    assert "relu1" in rule("deeplift", m, p.facts) and rule("guided_backprop", m, p.facts) == ""
    x = m.preprocess(IMAGE)
    with pytest.raises(RuntimeError, match="more than once"):
        DeepLift(m.module).attribute(x, torch.zeros_like(x), target=0)
    plain = from_weights(tmp_path, TinyCNN)  # same function, separate modules
    assert torch.allclose(GuidedBackprop(m.module).attribute(x, target=0),
                          GuidedBackprop(plain.module).attribute(x, target=0))


def test_functional_relu_makes_deeplift_and_guided_backprop_unreliable(tmp_path):
    m = from_weights(tmp_path, FunctionalReLU)
    p = preflight(m, IMAGE)
    assert p.facts["functional_relu"] == ["<top-level forward> (relu)"]
    for method in DEEPLIFT | GUIDED:
        why = rule(method, m, p.facts)
        assert why.startswith("unreliable") and "<top-level forward> (relu)" in why
    x = m.preprocess(IMAGE)
    # Guided Backprop silently returns the plain gradient...
    assert torch.allclose(GuidedBackprop(m.module).attribute(x, target=0), grads(m, x))
    # ...and DeepLift breaks its own summation-to-delta property.
    _, delta = DeepLift(m.module).attribute(x, torch.zeros_like(x), target=0,
                                            return_convergence_delta=True)
    assert abs(delta.item()) > 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["torchscript", "torch.export"])
def test_compiled_models_refuse_hook_methods(tmp_path, kind):
    m = compiled(tmp_path, kind)
    p = preflight(m, IMAGE)
    assert p.forward_ok and p.facts["compiled"] == kind and p.facts["conv_layers"] == []
    for method in HOOKED:
        assert "silently" in rule(method, m, p.facts)
    for method in ("saliency", "integrated_gradients", "occlusion", "kernel_shap"):
        assert rule(method, m, p.facts) == ""
    x = m.preprocess(IMAGE)
    # what actually happens: Captum finds no ReLU module to hook, so Guided Backprop returns
    # the plain gradient and DeepLift returns input x gradient (no rescale rule at all).
    assert torch.allclose(GuidedBackprop(m.module).attribute(x, target=0), grads(m, x))
    dl = DeepLift(m.module).attribute(x, torch.zeros_like(x), target=0)
    assert torch.allclose(dl, x * grads(m, x), atol=1e-6)
    with pytest.raises(RuntimeError, match="ScriptModule|hook"):
        torch.jit.script(tiny_cnn()).conv1.register_forward_hook(lambda *a: None)


def test_failing_forward_blocks_every_method(tmp_path):
    m = from_weights(tmp_path, TinyCNN)
    p = preflight(m, "not an image")
    assert not p.forward_ok and "forward pass failed" in p.forward_note
    assert p.usable() == [] and len(p.rows) >= len(MINIMUM)


@pytest.mark.slow
def test_bert_embedding_attention_and_deeplift(tmp_path):
    m = load_user_model(save_bert(tmp_path / "bert"))
    p = preflight(m)
    f = p.facts
    assert f["embedding_layer"] == "bert.embeddings.word_embeddings"
    assert f["attention"][:2] == [2, 2]
    why = rule("deeplift", m, f)
    assert why.startswith("unreliable") and "intermediate_act_fn (gelu)" in why
    assert rule("attention", m, f) == "" and "word_embeddings" in p.row("saliency").note or \
        "saliency" not in explainers.list_methods()


# ----------------------------------------------------------------- against the registry
MODELS = ["plain", "functional", "torchscript", "torch.export", "bert"]
TEXT = "a lovely clever movie"


def build(tmp_path, kind: str):
    """(model, raw input) for one kind of user model."""
    if kind == "plain":
        return from_weights(tmp_path, TinyCNN), IMAGE
    if kind == "functional":
        return from_weights(tmp_path, FunctionalReLU), IMAGE
    if kind == "bert":
        return load_user_model(save_bert(tmp_path / "bert")), TEXT
    return compiled(tmp_path, kind), IMAGE


@pytest.mark.slow
@pytest.mark.parametrize("kind", MODELS)
def test_verdicts_match_running_every_registered_method(tmp_path, kind):
    m, raw = build(tmp_path, kind)
    p = preflight(m, raw)
    registered = set(explainers.list_methods())
    assert p.forward_ok and set(usable_methods(m)) <= registered
    for row in p.rows:
        if row.method not in registered:
            assert not row.ok and row.note == "not available in this build"
            continue
        if not explainers.get_method(row.method).supports(m):
            assert not row.ok
            continue
        error = run_check(m, raw, row.method)
        if row.ok:
            assert error == "", f"{row.method}: preflight said yes, running it gave {error}"
        else:  # refused: it fails, or it runs but its result is wrong (shown above via Captum)
            assert error or "silently" in row.note or row.note.startswith("unreliable"), row

"""Preflight: one forward pass, then which methods will work on a model and why not."""
from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from models.base import HasAttention, HasEmbeddingLayer, HasSamples, HasTargetLayer, ModelAdapter

MINIMUM = (
    "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "deeplift",
    "gradient_shap", "deeplift_shap", "guided_backprop", "grad_cam", "guided_grad_cam",
    "occlusion", "feature_ablation", "lime", "kernel_shap", "shap_partition", "shap_gradient",
    "attention", "attention_rollout",
)
DEEPLIFT = {"deeplift", "deeplift_shap"}
GUIDED = {"guided_backprop", "guided_grad_cam"}
LAYER = {"grad_cam", "guided_grad_cam"}
ATTENTION = {"attention", "attention_rollout"}
HOOKED = DEEPLIFT | GUIDED | LAYER
GRADIENT_TEXT = {"saliency", "input_x_gradient", "integrated_gradients", "smoothgrad",
                 "gradient_shap", "shap_gradient"} | DEEPLIFT
# what Captum's DeepLift rescales (module types) and the functional forms it cannot see
DEEPLIFT_MODULES = (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus,
                    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.Softmax)
UNSUPPORTED_MODULES = (nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.ReLU6,
                       nn.PReLU, nn.SELU, nn.CELU)
RELU_FUNCS = {F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}
NONLINEAR_FUNCS = RELU_FUNCS | {
    F.elu, F.leaky_relu, F.gelu, F.silu, F.softplus, F.softmax, torch.softmax,
    torch.Tensor.softmax, torch.sigmoid, torch.Tensor.sigmoid, torch.tanh, torch.Tensor.tanh,
    F.max_pool1d, F.max_pool2d, F.max_pool3d, torch.max_pool2d, F.hardswish, F.mish,
}
SAMPLE_TEXT = "The quick brown fox jumps over the lazy dog."
SAMPLE_PROMPT = "the film is"


@dataclass(frozen=True)
class Check:
    """One row of the preflight table."""

    method: str
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Preflight:
    """The result: did a forward pass run, a row per method, and what was found."""

    model_name: str
    forward_ok: bool
    forward_note: str
    rows: tuple[Check, ...]
    facts: dict[str, Any] = field(default_factory=dict)

    def usable(self) -> list[str]:
        return [r.method for r in self.rows if r.ok]

    def table(self) -> list[dict[str, Any]]:
        """Rows as plain dicts (method, works, why not / notes), for a dataframe."""
        return [{"method": r.method, "works": r.ok, "notes": r.note} for r in self.rows]

    def row(self, method: str) -> Check:
        return next(r for r in self.rows if r.method == method)


# ----------------------------------------------------------------- inspection
def compiled_kind(module: nn.Module) -> str:
    """'torchscript', 'torch.export' or '' (an ordinary nn.Module with real submodules)."""
    for sub in module.modules():
        held = getattr(sub, "program", None)  # models.user wrappers hold ScriptModules out of sight
        if isinstance(sub, torch.jit.ScriptModule) or isinstance(held, torch.jit.ScriptModule):
            return "torchscript"
        if isinstance(sub, torch.fx.GraphModule) and any(
                n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload)
                for n in sub.graph.nodes):
            return "torch.export"
    return ""


class _Recorder(TorchFunctionMode):
    """Records nonlinear functions called outside their own module (functional use)."""

    def __init__(self, stack: list[tuple[str, nn.Module]]):
        super().__init__()
        self.stack = stack
        self.functional: Counter[tuple[str, str]] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in NONLINEAR_FUNCS:
            owner, mod = self.stack[-1] if self.stack else ("", None)
            if not isinstance(mod, DEEPLIFT_MODULES + UNSUPPORTED_MODULES):
                name = getattr(func, "__name__", str(func))
                self.functional[(owner or "<top-level forward>", name)] += 1
        return func(*args, **(kwargs or {}))


def trace_nonlinearities(model: ModelAdapter, x: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """One forward pass with hooks: functional nonlinearities, reused and unsupported modules."""
    stack: list[tuple[str, nn.Module]] = []
    calls: Counter[str] = Counter()
    handles = []
    named = dict(model.module.named_modules())

    def enter(mod: nn.Module, args: Any, name: str = "") -> None:
        stack.append((name, mod))

    def leave(mod: nn.Module, args: Any, out: Any, name: str = "") -> None:
        stack.pop()
        calls[name] += 1

    for name, sub in named.items():
        handles.append(sub.register_forward_pre_hook(lambda m, a, n=name: enter(m, a, n)))
        handles.append(sub.register_forward_hook(lambda m, a, o, n=name: leave(m, a, o, n)))
    recorder = _Recorder(stack)
    try:
        with torch.no_grad(), recorder:
            model.forward(*x)
    finally:
        for h in handles:
            h.remove()
    return {
        "functional": sorted({f"{o} ({fn})" for (o, fn) in recorder.functional}),
        "functional_relu": sorted({f"{o} ({fn})" for (o, fn) in recorder.functional if "relu" in fn}),
        "reused": sorted(n for n, c in calls.items()
                         if c > 1 and isinstance(named[n], DEEPLIFT_MODULES)),
        "unsupported": sorted(n for n, m in named.items() if isinstance(m, UNSUPPORTED_MODULES)),
    }


def default_sample(model: ModelAdapter) -> Any:
    """A bundled sample when there is one, else a neutral input of the right kind."""
    if isinstance(model, HasSamples):
        samples = model.samples(1, 0)
        if samples:
            return samples[0][0]
    modality = model.info.modality
    if modality == "text":
        return SAMPLE_TEXT
    if modality == "generation":
        return SAMPLE_PROMPT
    if modality == "tabular":
        return {n: 0.0 for n in model.info.feature_names}
    h, w = model.info.input_size or (224, 224)
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    img = ramp * np.ones((h, 1, 3), np.float32) * 0.7 + rng.uniform(0, 76, (h, w, 3))
    return img.astype(np.uint8)


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: " + ((str(exc).strip().splitlines() or [""])[0])[:200]


def gather_facts(model: ModelAdapter, x: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """What the rules need: compiled or not, nonlinearities, layers, embeddings, attention."""
    facts: dict[str, Any] = {"compiled": compiled_kind(model.module)}
    if not facts["compiled"]:
        facts.update(trace_nonlinearities(model, x))
    if isinstance(model, HasTargetLayer):
        try:
            facts["conv_layers"] = list(model.conv_layers())
            facts["target_layer"] = model.default_target_layer if facts["conv_layers"] else ""
        except Exception as exc:  # noqa: BLE001  (reported in the table, not raised)
            facts["conv_layers"], facts["target_layer"] = [], _first_line(exc)
    if isinstance(model, HasEmbeddingLayer):
        layer = model.embedding_layer
        facts["embedding_layer"] = next(
            (n for n, m in model.module.named_modules() if m is layer), type(layer).__name__)
    if isinstance(model, HasAttention):
        try:
            ids = next((t for t in x if not t.is_floating_point()), x[0])  # token ids (fusion)
            att = model.attention(ids)
            facts["attention"] = list(att.shape) if att.ndim == 4 else f"shape {list(att.shape)}"
        except Exception as exc:  # noqa: BLE001
            facts["attention"] = _first_line(exc)
    return facts


def _compiled_note(kind: str) -> str:
    if kind == "torchscript":
        return ("TorchScript runs compiled code: Captum cannot hook its layers, so hook-based "
                "methods fail or silently fall back to plain gradients")
    return ("a torch.export graph calls operators directly: layer hooks never fire, so "
            "hook-based methods would silently compute something else")


def rule(method: str, model: ModelAdapter, facts: dict[str, Any]) -> str:
    """'' when the method should work on this model, else one line saying why not."""
    text = model.info.modality in ("text", "generation")
    if facts["compiled"] and (method in HOOKED or text):
        return _compiled_note(facts["compiled"])
    if method in ATTENTION:
        att = facts.get("attention")
        if att is None:
            return "the model exposes no attention weights"
        return "" if isinstance(att, list) else f"attention probe failed: {att}"
    if text and not facts.get("embedding_layer") and method not in ATTENTION:
        return "text methods need the word-embedding layer; this model exposes none"
    if method in LAYER and not facts.get("conv_layers"):
        return "Grad-CAM needs a Conv2d layer; none found"
    if method in DEEPLIFT and facts.get("reused"):
        return ("fails: Captum's DeepLift needs each activation module used once; reused: "
                + ", ".join(facts["reused"][:5]))
    if method in GUIDED and facts.get("functional_relu"):
        return ("unreliable: Guided Backprop only overrides nn.ReLU modules, so it would return "
                "plain gradients through " + ", ".join(facts["functional_relu"][:5]))
    if method in DEEPLIFT and (facts.get("functional") or facts.get("unsupported")):
        return "unreliable: DeepLift's rescale rule misses " + _issues(facts)
    return ""


def _issues(facts: dict[str, Any]) -> str:
    parts = []
    if facts.get("functional"):
        parts.append("functional calls in " + ", ".join(facts["functional"][:5]))
    if facts.get("unsupported"):
        parts.append("unsupported activation modules " + ", ".join(facts["unsupported"][:5]))
    return "; ".join(parts)


def _note(method: str, facts: dict[str, Any]) -> str:
    """A helpful note for rows that pass (which layer a method will use)."""
    if method in LAYER and facts.get("target_layer"):
        return f"layer {facts['target_layer']} (candidates: {', '.join(facts['conv_layers'][-5:])})"
    if facts.get("embedding_layer") and method in GRADIENT_TEXT:
        return f"attributes on embedding layer {facts['embedding_layer']}"
    if method in ATTENTION and isinstance(facts.get("attention"), list):
        return "attention [layers, heads, tokens, tokens] = {}".format(facts["attention"])
    if facts.get("compiled") and facts.get("batch_chunk"):
        return f"fixed batch size: runs {facts['batch_chunk']} sample(s) at a time (slower)"
    return ""


def _cheap(explainer: Any) -> dict[str, Any]:
    """Smallest sensible values for count parameters, so a verification run is quick."""
    out = {}
    for p in explainer.params:
        if p.kind == "int" and any(k in p.name for k in ("steps", "samples", "evals", "perturb")):
            out[p.name] = int(max(p.min or 1, min(p.default, 4)))
    return out


def run_check(model: ModelAdapter, raw: Any, method: str) -> str:
    """Run one method cheaply; '' on success, else the error's first line."""
    from explainers.base import explain, get_method

    try:
        explain(model, raw, method, **_cheap(get_method(method)))
    except Exception as exc:  # noqa: BLE001  (the point is to record what fails)
        return _first_line(exc)
    return ""


def preflight(model: ModelAdapter, sample_raw: Any = None, verify: bool | set[str] = False) -> Preflight:
    """One forward pass on a sample, then a verdict per method (verify=True also runs them)."""
    from explainers.base import REGISTRY, _load_methods

    _load_methods()
    raw = default_sample(model) if sample_raw is None else sample_raw
    methods = list(dict.fromkeys([*REGISTRY, *MINIMUM]))
    with model.lock:
        try:
            x = model.preprocess(raw)
            x = x if isinstance(x, tuple) else (x,)
            with torch.no_grad():
                out = model.forward(*x)
            forward_note = _check_output(out, model, raw)
        except Exception as exc:  # noqa: BLE001  (reported: nothing can run)
            note = f"forward pass failed: {_first_line(exc)}"
            rows = tuple(Check(m, False, note) for m in methods)
            return Preflight(model.info.name, False, note, rows, {})
        facts = gather_facts(model, x)
    facts["batch_chunk"] = model.info.card.get("batch_chunk", 0) if isinstance(model.info.card, dict) else 0
    rows = []
    for method in methods:
        explainer = REGISTRY.get(method)
        why = "not available in this build" if explainer is None else explainer.why_not(model)
        why = why or rule(method, model, facts)
        if not why and (verify is True or (isinstance(verify, set) and method in verify)):
            why = run_check(model, raw, method)
        rows.append(Check(method, not why, why or _note(method, facts)))
    return Preflight(model.info.name, True, forward_note, tuple(rows), facts)


def _check_output(out: Any, model: ModelAdapter, raw: Any) -> str:
    """The forward-pass note; raises ValueError for output of the wrong shape or non-finite."""
    if model.info.modality == "generation":
        if not isinstance(out, torch.Tensor) or out.ndim != 3 or not torch.isfinite(out).all():
            got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"expected finite logits [1, tokens, vocab], got {got}")
        return f"generate ok: {model.generate(raw, max_new_tokens=8)!r}"
    n = model.info.num_classes
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] != n:
        got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"expected logits [1, {n}], got {got}")
    if not torch.isfinite(out).all():
        raise ValueError("the logits contain NaN or infinite values")
    return f"forward pass ok: logits {list(out.shape)}"


_CACHE: weakref.WeakKeyDictionary[Any, Preflight] = weakref.WeakKeyDictionary()


def usable_methods(model: ModelAdapter) -> list[str]:
    """Method keys the dashboard should offer for this model (cached per model object)."""
    result = _CACHE.get(model)
    if result is None:
        result = _CACHE[model] = preflight(model)
    return result.usable()

"""Image+text fusion explanations: one Captum call over both inputs, modality shares, cross-modal maps."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution, Param, resolve_target
from models.base import ModelAdapter
from models.errors import InputError, UnknownNameError, UnsupportedError

BASELINES = Param("baselines", "choice", "auto", "Image baseline (auto = black); text: [PAD].",
                  choices=("auto", "black", "blur", "noise", "mean"))
N_SAMPLES = Param("n_samples", "int", 20, "Random samples drawn.", min=1, max=1000, step=5)
PARAMS: dict[str, tuple[Param, ...]] = {
    "integrated_gradients": (
        Param("n_steps", "int", 50, "Integration steps from the baseline.", min=2, max=1000),
        Param("integration_method", "choice", "gausslegendre", "Captum's `method`.",
              choices=("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right",
                       "riemann_middle")),
        BASELINES),
    "saliency": (Param("abs", "bool", True, "Absolute value of the gradient."),),
    "input_x_gradient": (),
    "gradient_shap": (
        N_SAMPLES,
        Param("stdevs", "float", 0.0, "Std of noise added to the inputs.", min=0.0, max=10.0),
        Param("n_baselines", "int", 20, "Training digits used as image baselines (text: [PAD]).",
              min=1, max=500)),
    "smoothgrad": (
        Param("nt_samples", "int", 25, "Number of noisy copies.", min=2, max=500),
        Param("stdevs", "float", 0.15, "Noise std as a fraction of each input's value range.",
              min=0.0, max=2.0)),
}
METHODS = tuple(PARAMS)
STOCHASTIC = {"gradient_shap", "smoothgrad"}
MAX_BATCH = 2048  # images per forward pass inside integrated gradients (28x28: ~100 MB at most)


def check_fusion_model(model: ModelAdapter) -> None:
    """Raise UnsupportedError unless the model is a fusion model that can take embeddings."""
    needs = ("embed", "forward_embeddings", "pad_token_id", "baseline", "tokens")
    missing = [n for n in needs if not hasattr(model, n)]
    if model.info.modality != "fusion" or missing:
        raise UnsupportedError(
            f"{model.info.name} is not a fusion model with {', '.join(needs)}"
            + (f" (missing: {', '.join(missing)})" if missing else f" (modality {model.info.modality!r})"))


def resolve_params(model: ModelAdapter, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in and values checked; unknown methods and parameters are errors."""
    if method not in PARAMS:
        raise UnsupportedError(f"method {method!r} is not available for fusion models; "
                               f"allowed: {list(METHODS)}")
    spec = {p.name: p for p in PARAMS[method]}
    unknown = sorted(set(params) - set(spec) - {"seed", "progress"})
    if unknown:
        raise UnknownNameError(f"{method} has no parameter {unknown[0]!r} for fusion models; "
                               f"allowed: {sorted(spec)}")
    out = {n: p.coerce(params.get(n, p.default)) for n, p in spec.items()}
    if "baselines" in out:
        kinds = tuple(getattr(model, "baseline_kinds", ("black",)))
        kind = "black" if out["baselines"] == "auto" else out["baselines"]
        if kind not in kinds:
            raise InputError(f"baselines {kind!r} does not fit {model.info.name}; allowed: "
                             f"{['auto', *kinds]}")
        out["baselines"] = kind
    out["seed"] = int(params.get("seed", 0))
    return out


@dataclass
class _Run:
    """Tensors of one attribution call: inputs, baselines, Captum's result."""

    image: torch.Tensor
    embeds: torch.Tensor
    base_image: torch.Tensor
    base_embeds: torch.Tensor
    attr: tuple[torch.Tensor, torch.Tensor] = ()  # type: ignore[assignment]
    delta: torch.Tensor | None = None
    base_value: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _inputs(model: ModelAdapter, image: torch.Tensor, ids: torch.Tensor, p: dict) -> _Run:
    pad = torch.full_like(ids, model.pad_token_id)
    with torch.no_grad():
        embeds, base_embeds = model.embed(ids).detach(), model.embed(pad).detach()
    base_image = model.baseline(image, p.get("baselines", "black")).detach()
    # leaves that require grad: what Captum would otherwise set itself (with a warning)
    return _Run(image.detach().clone().requires_grad_(), embeds.requires_grad_(), base_image,
                base_embeds)


def _attribute(model: ModelAdapter, run: _Run, target: int, method: str, p: dict) -> _Run:
    """The one Captum call over (image, token embeddings); fills attr, delta and base_value."""
    import captum.attr as ca

    fwd = model.forward_embeddings
    x, b = (run.image, run.embeds), (run.base_image, run.base_embeds)
    if method == "integrated_gradients":
        run.attr, run.delta = ca.IntegratedGradients(fwd).attribute(
            x, baselines=b, target=target, n_steps=p["n_steps"], method=p["integration_method"],
            internal_batch_size=max(len(run.image), MAX_BATCH), return_convergence_delta=True)
    elif method == "saliency":
        run.attr = ca.Saliency(fwd).attribute(x, target=target, abs=p["abs"])
    elif method == "input_x_gradient":
        run.attr = ca.InputXGradient(fwd).attribute(x, target=target)
    elif method == "gradient_shap":
        from explainers.baselines import background

        bg = background(model, p["n_baselines"], p["seed"], run.image).to(run.image)
        pads = run.base_embeds[:1].expand(len(bg), *run.base_embeds.shape[1:])
        run.attr = ca.GradientShap(fwd).attribute(
            x, baselines=(bg, pads), n_samples=p["n_samples"], stdevs=p["stdevs"], target=target)
        with torch.no_grad():
            run.base_value = fwd(bg, pads)[:, target].mean().expand(len(run.image))
    else:  # smoothgrad
        stds = tuple(float(p["stdevs"] * (t.max() - t.min()).clamp_min(1e-12).detach()) for t in x)
        run.extras["noise_std"] = {"image": stds[0], "text": stds[1]}
        run.attr = ca.NoiseTunnel(ca.Saliency(fwd)).attribute(
            x, nt_type="smoothgrad", nt_samples=p["nt_samples"], stdevs=stds, target=target)
    if run.delta is None and run.base_value is not None:  # completeness against E[f(baseline)]
        with torch.no_grad():
            out = fwd(run.image, run.embeds)[:, target]
        total = run.attr[0].flatten(1).sum(1) + run.attr[1].flatten(1).sum(1)
        run.delta = total - (out - run.base_value)
    return run


def _seeded_attribute(model, run: _Run, target: int, method: str, p: dict) -> _Run:
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    np_state = np.random.get_state()  # Captum's GradientShap draws baselines with numpy
    with torch.random.fork_rng(devices=devices), torch.enable_grad():
        torch.manual_seed(p["seed"])
        np.random.seed(p["seed"] % 2**32)
        try:
            return _attribute(model, run, target, method, p)
        finally:
            np.random.set_state(np_state)


def explain_fusion(model: ModelAdapter, raw: Any, method: str = "integrated_gradients",
                   target: int | str | None = None, **params: Any) -> Attribution:
    """Attribute image pixels and token embeddings in one Captum call (target None = predicted).

    values = {"image": [28, 28] (summed over the channel), "text": [n_tokens] (summed over the
    embedding)}, units = {"text": tokens}. For integrated_gradients the sum over both modalities
    equals f(x) - f(black image, all-[PAD] text) in target-logit space up to `delta`
    (|sum - (f(x) - f(baseline))|); gradient_shap compares with E[f(training digit, [PAD])].
    """
    check_fusion_model(model)
    p = resolve_params(model, method, params)
    with model.lock:
        idx = resolve_target(model, raw, target)
        image, ids = model.preprocess(raw)
        run = _inputs(model, image, ids, p)
        start = time.perf_counter()
        run = _seeded_attribute(model, run, idx, method, p)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            logits = model.forward_embeddings(run.image, run.embeds)[0]
            base_logit = model.forward_embeddings(run.base_image, run.base_embeds)[0, idx]
    img = run.attr[0][0].detach().double().sum(0).cpu().numpy()
    txt = run.attr[1][0].detach().double().sum(-1).cpu().numpy()
    extras = {**run.extras, "logit": float(logits[idx]), "baseline_logit": float(base_logit),
              "probability": float(torch.softmax(logits.float(), -1)[idx]),
              "image_sum": float(img.sum()), "text_sum": float(txt.sum()), "text_baseline": "[PAD]"}
    if run.delta is not None:
        extras["signed_delta"] = float(run.delta[0])
    used = {k: v for k, v in p.items() if k != "seed" or method in STOCHASTIC}
    info = model.info
    return Attribution(
        values={"image": img, "text": txt}, units={"text": tuple(model.tokens(raw))},
        method=method, target=idx, target_label=str(info.class_names[idx]), params=used,
        delta=None if run.delta is None else abs(float(run.delta[0])),
        base_value=None if run.base_value is None else float(run.base_value[0]),
        seconds=seconds, extras=extras, model_name=info.name, modality=info.modality,
        output=float(logits[idx]))


def _fractions(a: float, b: float) -> tuple[float, float]:
    total = abs(a) + abs(b)
    return (abs(a) / total, abs(b) / total) if total > 0 else (0.0, 0.0)


@torch.no_grad()
def modality_share(model: ModelAdapter, raw: Any, attribution: Attribution) -> dict[str, Any]:
    """How much each modality carries, two ways, for the attribution's target class.

    "attribution": fraction of total |attribution| (sum of |values| per modality).
    "ablation": fraction of the output change when a modality is removed: removing the image
    (black, text kept: "text only") changes p(target) by drop["image"]; removing the text (all
    [PAD], image kept: "image only") by drop["text"]; share = |drop| / (|drop_image| + |drop_text|).
    Both shares are 0.0 / 0.0 where nothing changes at all.
    """
    check_fusion_model(model)
    if attribution.kind != "fusion":
        raise InputError(f"modality_share needs a fusion attribution, got a {attribution.kind!r} one")
    t = attribution.target
    a_img, a_txt = (float(np.abs(attribution.values[k]).sum()) for k in ("image", "text"))
    image, ids = model.preprocess(raw)
    black, pad = torch.zeros_like(image), torch.full_like(ids, model.pad_token_id)
    batch = (torch.cat([image, image, black, black]), torch.cat([ids, pad, ids, pad]))
    probs = torch.softmax(model.forward(*batch).float(), -1)[:, t].cpu().numpy()
    full, image_only, text_only, neither = (float(v) for v in probs)
    drop = {"image": full - text_only, "text": full - image_only}
    share_attr, share_abl = _fractions(a_img, a_txt), _fractions(drop["image"], drop["text"])
    return {
        "target": t, "target_label": attribution.target_label, "method": attribution.method,
        "attribution": {"image": share_attr[0], "text": share_attr[1]},
        "ablation": {"image": share_abl[0], "text": share_abl[1]},
        "abs_attribution": {"image": a_img, "text": a_txt},
        "probability": {"full": full, "image_only": image_only, "text_only": text_only,
                        "neither": neither},
        "drop": drop,
    }


@dataclass(frozen=True)
class CrossModal:
    """Which words move which image regions: image attribution with each token masked."""

    tokens: tuple[str, ...]
    target: int
    target_label: str
    method: str
    params: dict[str, Any]
    base: np.ndarray  # [H, W] image attribution with the full text
    masked: np.ndarray  # [T, H, W] image attribution with token t replaced by [PAD]
    difference: np.ndarray  # [T, H, W] base - masked[t]: what word t adds to each pixel's score
    output_change: np.ndarray  # [T] p(target | full) - p(target | token t masked)

    @property
    def influence(self) -> np.ndarray:
        """[T] total |difference| per token: how much each word reshapes the image map."""
        return np.abs(self.difference).reshape(len(self.tokens), -1).sum(1)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON reports."""
        return {"tokens": list(self.tokens), "target": self.target,
                "target_label": self.target_label, "method": self.method, "params": self.params,
                "base": self.base.tolist(), "difference": self.difference.tolist(),
                "output_change": self.output_change.tolist(), "influence": self.influence.tolist()}


def cross_modal(model: ModelAdapter, raw: Any, target: int | str | None = None,
                method: str = "integrated_gradients", **params: Any) -> CrossModal:
    """Image attribution with the full text and with each token masked ([PAD]), in one batch."""
    check_fusion_model(model)
    p = resolve_params(model, method, params)
    with model.lock:
        idx = resolve_target(model, raw, target)
        image, ids = model.preprocess(raw)
        n = ids.shape[1]
        variants = ids.repeat(n + 1, 1)
        variants[torch.arange(1, n + 1), torch.arange(n)] = model.pad_token_id  # row t+1: t masked
        run = _inputs(model, image.repeat(n + 1, 1, 1, 1), variants, p)
        run = _seeded_attribute(model, run, idx, method, p)
        with torch.no_grad():
            probs = torch.softmax(model.forward(run.image, variants).float(), -1)[:, idx]
    maps = run.attr[0].detach().double().sum(1).cpu().numpy()  # [n + 1, H, W]
    used = {k: v for k, v in p.items() if k != "seed" or method in STOCHASTIC}
    return CrossModal(
        tokens=tuple(model.tokens(raw)), target=idx, target_label=str(model.info.class_names[idx]),
        method=method, params=used, base=maps[0], masked=maps[1:], difference=maps[0] - maps[1:],
        output_change=(probs[0] - probs[1:]).cpu().numpy().astype(np.float64))

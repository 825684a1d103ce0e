"""Shared plumbing for methods: the call context, shared params, reduction to values and units."""
from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from explainers import baselines as bl
from explainers import generation as gen
from explainers.base import Attribution, Explainer, Param
from explainers.batching import Counter, counting, pick_batch, with_retry
from models.base import ModelAdapter
from models.compress import is_int8

IMAGE, TEXT, TABULAR = "image", "text", "tabular"
GENERATION = gen.GENERATION
BASELINES = Param("baselines", "choice", "auto", choices=bl.ALL_KINDS, help=(
    "Reference input: auto = the model's default (black image, [PAD] tokens, training mean); "
    "custom takes custom_baseline= (an image, array or table row)."))
MERGE = Param("merge_words", "bool", False, help=(
    "Text: sum the scores of subword pieces into whole words (needs the model's word_ids)."))
N_STEPS = Param("n_steps", "int", 50, min=2, max=1000, step=10,
                help="Integration steps along the path from the baseline to the input.")


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch/numpy/random for one call and restore their states afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        seed_all(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


class ForwardModule(nn.Module):
    """An nn.Module around adapter.forward (DeepLift and guided backprop hook real modules)."""

    def __init__(self, model: ModelAdapter, forward: Callable[..., torch.Tensor]):
        super().__init__()
        self.inner = model.module  # registered as a child: Captum finds its ReLUs etc.
        self._fn = forward

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self._fn(*x)


@dataclass
class Ctx:
    """One call: the model, raw input, target, resolved params, preprocessed x, progress."""

    method: Method
    model: ModelAdapter
    raw: Any
    target: int
    p: dict[str, Any]
    seed: int
    x: tuple[torch.Tensor, ...]
    progress: Callable[[int, int], Any] | None = None
    free: dict[str, Any] = field(default_factory=dict)
    used: dict[str, Any] = field(default_factory=dict)  # resolved extras (baseline kind, ...)
    counter: Counter | None = None
    out: torch.Tensor | None = None  # f(x) for the target, once computed

    @property
    def modality(self) -> str:
        return self.model.info.modality

    @property
    def inp(self) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self.x[0] if len(self.x) == 1 else self.x

    def forward(self, total: int) -> Callable[..., torch.Tensor]:
        """model.forward counting evaluated samples against `total` (progress + cancel)."""
        self.counter = Counter(total, self.progress)
        return counting(self.model.forward, self.counter)

    def module(self, total: int) -> ForwardModule:
        return ForwardModule(self.model, self.forward(total))

    def baseline(self) -> torch.Tensor:
        kind = bl.resolve_kind(self.model, self.p["baselines"])
        self.used["baselines"] = kind
        return bl.make_baseline(self.model, self.raw, self.x[0], kind,
                                self.free.get("custom_baseline"))

    def batch(self, n: int, grad: bool = True) -> int:
        return pick_batch(self.model, self.x, n, grad)

    def retry(self, fn: Callable[[int], Any], n: int, grad: bool = True) -> Any:
        """fn(batch) with a memory-picked batch, halved on out-of-memory; records the batch."""
        out, used = with_retry(fn, self.batch(n, grad))
        self.used["batch_size"] = used
        return out

    @torch.no_grad()
    def logit(self, x: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
        """Target logits of a batch (default: the input, computed once), shape [batch]."""
        if x is None:
            if self.out is None:
                self.out = self.model.forward(*self.x)[:, self.target].float()
            return self.out
        return self.model.forward(*x)[:, self.target].float()

    @torch.no_grad()
    def delta(self, attr: Any, base: torch.Tensor) -> float:
        """|sum(attr) - (f(x) - f(baseline))| (Captum's convergence delta) from one batched
        forward over [x, baseline]; f(x) is kept as the output."""
        out = self.model.forward(torch.cat([self.x[0], base.to(self.x[0].dtype)]))
        self.out = out[:1, self.target].float()
        total = sum(float(a.detach().double().sum()) for a in
                    (attr if isinstance(attr, tuple) else (attr,)))
        return abs(total - float(out[0, self.target] - out[1, self.target]))

    def finish(self, attr: Any, channels: str = "sum", **kw: Any) -> Attribution:
        """Attribution from a Captum/SHAP result: reduced values, units, params, output."""
        if self.counter is not None:
            self.counter.finish()
        values, units = reduce(self, attr, channels)
        params = {k: v for k, v in self.p.items() if k in self.method.param_names(self.model)}
        params.update({k: v for k, v in self.used.items() if k != "batch_size"})
        params["seed"] = self.seed
        extras = dict(kw.pop("extras", {}))
        if "batch_size" in self.used:
            extras["batch_size"] = self.used["batch_size"]
        info = self.model.info
        return Attribution(values=values, units=units, method=self.method.name, target=self.target,
                           target_label=str(info.class_names[self.target]), params=params,
                           extras=extras, model_name=info.name, modality=info.modality,
                           output=float(self.logit()[0]), **kw)


def to_numpy(attr: Any) -> np.ndarray:
    if isinstance(attr, tuple):
        attr = attr[0]
    if isinstance(attr, torch.Tensor):
        return attr.detach().float().cpu().numpy()
    return np.asarray(attr, dtype=np.float64)


def reduce(ctx: Ctx, attr: Any, channels: str = "sum") -> tuple[np.ndarray, tuple]:
    """Image [1,C,H,W] -> [H,W]: signed sum over channels for gradient maps; "mean" for
    perturbation maps, whose channels carry the same value (a region is switched off in every
    channel at once). Text [1,T(,D)] -> [T] (sum over the embedding); tabular [1,F] -> [F].
    Text pieces are merged into words when asked."""
    a = to_numpy(attr).astype(np.float64)
    if ctx.modality == IMAGE:
        if a.ndim >= 3:
            a = a.reshape(a.shape[-3:])
            a = a.mean(0) if channels == "mean" else a.sum(0)
        return a, ()
    a = a.reshape(-1, *a.shape[-1:]) if a.ndim == 1 else a
    a = a[0] if a.shape[0] == 1 and a.ndim >= 2 else a
    if a.ndim == 2:
        a = a.sum(-1)
    units = tuple(ctx.model.units(ctx.raw))
    if ctx.modality == TEXT and ctx.p.get("merge_words"):
        return merge_words(ctx, a, units)
    return a, units


def merge_words(ctx: Ctx, a: np.ndarray, tokens: tuple) -> tuple[np.ndarray, tuple]:
    """Sum subword pieces per word (adapter.word_ids); special tokens stay their own units."""
    word_ids = getattr(ctx.model, "word_ids", None)
    if not callable(word_ids):
        from models.errors import UnsupportedError

        raise UnsupportedError(f"merge_words needs word_ids() on {ctx.model.info.name}")
    values: list[float] = []
    units: list[str] = []
    last = object()
    for w, tok, v in zip(word_ids(ctx.raw), tokens, a, strict=True):
        piece = str(tok)
        if w is not None and w == last:
            values[-1] += float(v)
            units[-1] += piece[2:] if piece.startswith("##") else piece
        else:
            values.append(float(v))
            units.append(piece.lstrip("Ġ▁"))
        last = w
    return np.asarray(values), tuple(units)


# methods that back-propagate: int8 kernels give them no (or wrong) gradients
GRADIENT_METHODS = frozenset({
    "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "deeplift",
    "gradient_shap", "deeplift_shap", "guided_backprop", "grad_cam", "guided_grad_cam",
    "shap_gradient"})


class Method(Explainer):
    """Template: resolve params, seed, preprocess, run(ctx) -> Attribution."""

    only: ClassVar[dict[str, tuple[str, ...]]] = {"merge_words": (TEXT,), "baselines": ()}
    free_params: ClassVar[tuple[str, ...]] = ("custom_baseline",)

    def param_names(self, model: ModelAdapter) -> set[str]:
        return {p.name for p in self.params_for(model)}

    def params_for(self, model: ModelAdapter) -> tuple[Param, ...]:
        if model.info.modality == GENERATION:
            return gen.params_for(self.name, self.params)
        out = []
        for p in self.params:
            mods = self.only.get(p.name, ())
            if mods and model.info.modality not in mods:
                continue
            if p.name == "baselines":
                p = replace(p, choices=("auto", *bl.kinds_for(model)))
            out.append(p)
        return tuple(out)

    def explain(self, model: ModelAdapter, raw: Any, target: Any, **params: Any) -> Attribution:
        free = {k: params[k] for k in self.free_params if k in params}
        if model.info.modality == GENERATION:  # target: the continuation text (None = greedy)
            p = gen.resolve(self.name, self.params_for(model), params, self.free_params)
            free["continuation"] = gen.check_generation_target(target)
            free.update({k: params[k] for k in gen.params.FREE if k in params})
            target = -1
        else:
            p = self.resolve(params)
        seed = int(params.get("seed", 0))
        x = model.preprocess(raw)
        x = x if isinstance(x, tuple) else (x,)
        ctx = Ctx(self, model, raw, int(target), p, seed, x, params.get("progress"), free)
        # only stochastic methods draw random numbers; forking the RNGs costs ~1 ms a call
        rng = seeded(seed) if self.stochastic else contextlib.nullcontext()
        with rng, torch.enable_grad():
            return self.run(ctx)

    def run(self, ctx: Ctx) -> Attribution:
        raise NotImplementedError

    def why_not(self, model: ModelAdapter) -> str:
        if model.info.modality not in self.modalities:
            return f"{self.name} needs a {'/'.join(sorted(self.modalities))} model"
        return self.missing(model)

    def supports(self, model: ModelAdapter) -> bool:
        return not self.why_not(model)

    def missing(self, model: ModelAdapter) -> str:
        """'' when the model has what the method needs, else one line saying what is missing."""
        if model.info.modality == TEXT and not hasattr(model, "embedding_layer"):
            return f"{self.name} on text needs the model's embedding_layer"
        if self.name in GRADIENT_METHODS and is_int8(model.module):
            return (f"{self.name} needs gradients, and int8-quantized layers have none (torch "
                    "only warns and returns zeros); use occlusion, feature_ablation or kernel_shap")
        return ""

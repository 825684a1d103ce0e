"""Every explanation contract: Param specs, the Attribution result, the Explainer base, registry."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from models.base import ModelAdapter
from models.errors import InputError, UnknownNameError, UnsupportedError
from models.text_fit import fitted_raw

# progress(done, total) -> None; raise models.errors.CancelledError (or return False) to stop
Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class Param:
    """One knob of a method; the dashboard turns it into a widget."""

    name: str
    kind: str  # "int" | "float" | "bool" | "choice" | "str"
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def coerce(self, value: Any) -> Any:
        """Validate and convert a user value; raise InputError naming the allowed range."""
        try:
            if self.kind == "int":
                value = int(value)
            elif self.kind == "float":
                value = float(value)
            elif self.kind == "bool":
                value = _as_bool(value)
        except (TypeError, ValueError) as exc:
            raise InputError(f"parameter {self.name!r} must be {self.kind}, got {value!r}") from exc
        if self.kind == "choice" and value not in self.choices:
            raise InputError(f"parameter {self.name!r} = {value!r}; allowed: {list(self.choices)}")
        if self.min is not None and value < self.min or self.max is not None and value > self.max:
            raise InputError(
                f"parameter {self.name!r} = {value!r} is outside [{self.min}, {self.max}]"
            )
        return value


def _as_bool(value: Any) -> bool:
    """True/False from a bool, a number or a string such as 'false', '0', 'no' (CLI, JSON)."""
    if isinstance(value, str):
        words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if value.strip().lower() not in words:
            raise ValueError(f"{value!r} is not a boolean")
        return words[value.strip().lower()]
    return bool(value)


@dataclass(frozen=True)
class Attribution:
    """One explanation result; every plot, metric and report takes this."""

    values: Any  # np.ndarray [H, W] | [n_tokens] | [n_features]; dict for fusion models
    units: Any  # tuple of token/feature names; () for images; {"text": tokens} for fusion
    method: str
    target: int
    target_label: str
    params: dict[str, Any] = field(default_factory=dict)
    delta: float | None = None
    base_value: float | None = None
    seconds: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)
    model_name: str = ""
    modality: str = ""
    output: float | None = None  # the model output for the target: its logit (every method here)

    def __post_init__(self) -> None:
        if isinstance(self.values, dict):
            text_units = self.units.get("text", ()) if isinstance(self.units, dict) else ()
            if "text" in self.values and len(self.values["text"]) != len(text_units):
                n_values = len(self.values["text"])
                raise ValueError(f"text values ({n_values}) and tokens ({len(text_units)}) differ")
            return
        values = np.asarray(self.values)
        if values.ndim == 1 and len(self.units) != values.shape[0]:
            raise ValueError(f"values ({values.shape[0]}) and units ({len(self.units)}) differ")
        if values.ndim == 2 and len(self.units):
            raise ValueError("image attributions [H, W] take no units")
        if values.ndim not in (1, 2):
            raise ValueError(f"values must be [H, W] or [n]; got shape {values.shape}")

    @property
    def kind(self) -> str:
        """'image', 'tokens', 'features', 'fusion' or 'generation': what shape the values have."""
        if self.modality == "generation":
            return "generation"
        if isinstance(self.values, dict):
            return "fusion"
        if np.asarray(self.values).ndim == 2:
            return "image"
        return "tokens" if self.modality == "text" else "features"

    def plots(self) -> tuple[str, ...]:
        """Names of the plot functions (explainers.plots) that fit this result."""
        table = {
            "image": ("heatmap_overlay", "raw_map"),
            "tokens": ("token_highlight", "top_units_bar"),
            "features": ("waterfall", "top_units_bar"),
            "fusion": ("heatmap_overlay", "raw_map", "token_highlight", "top_units_bar",
                       "modality_share"),
            "generation": ("token_highlight", "generation_heatmap"),
        }
        extra = ("attention_grid",) if "attention" in self.extras else ()
        return table[self.kind] + extra


class Explainer:
    """One method: a thin, stateless wrapper over Captum or SHAP."""

    name: ClassVar[str]
    label: ClassVar[str]
    modalities: ClassVar[frozenset[str]]
    params: ClassVar[tuple[Param, ...]] = ()
    stochastic: ClassVar[bool] = False  # does a seed change the result?
    gradients: ClassVar[bool] = False  # does it back-propagate (refused on int8 models)?
    batchable: ClassVar[bool] = False  # can many inputs share one call (explain_batch)?
    one_pass: ClassVar[bool] = False  # one forward (+ backward): cheap enough to show first
    help: ClassVar[str] = ""
    needs: ClassVar[str] = ""  # what the model must provide (for the README / method table)
    # accepted but not widgets: e.g. custom_baseline (an image/array/row the user supplies)
    free_params: ClassVar[tuple[str, ...]] = ()

    def supports(self, model: ModelAdapter) -> bool:
        return model.info.modality in self.modalities

    def why_not(self, model: ModelAdapter) -> str:
        """One line saying why this method does not apply ('' when it does)."""
        return "" if self.supports(model) else self.wrong_modality(model)

    def wrong_modality(self, model: ModelAdapter) -> str:
        """One line when the model's modality is not one this method works on, else ''."""
        if model.info.modality in self.modalities:
            return ""
        kinds = " or ".join(sorted(self.modalities))
        return f"{self.name} works on {kinds} models, not on {model.info.modality} ones"

    def params_for(self, model: ModelAdapter) -> tuple[Param, ...]:
        """The parameter spec for one model (choices narrowed to what the model offers)."""
        return self.params

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled in, values coerced; unknown names are an error."""
        spec = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(spec) - {"seed", "progress", *self.free_params})
        if unknown:
            raise UnknownNameError(
                f"{self.name} has no parameter {unknown[0]!r}; allowed: {sorted(spec)}"
            )
        return {n: p.coerce(params.get(n, p.default)) for n, p in spec.items()}

    def explain(self, model: ModelAdapter, raw: Any, target: int, **params: Any) -> Attribution:
        raise NotImplementedError

    def explain_batch(self, model: ModelAdapter, raws: list[Any], targets: list[int],
                      **params: Any) -> list[Attribution]:
        """One call per input unless a subclass batches them."""
        return [self.explain(model, r, t, **params) for r, t in zip(raws, targets, strict=True)]


REGISTRY: dict[str, Explainer] = {}


def register(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: add one instance of the method to the registry under cls.name."""
    REGISTRY[cls.name] = cls()
    return cls


def get_method(name: str) -> Explainer:
    _load_methods()
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownNameError(f"unknown method {name!r}; allowed: {sorted(REGISTRY)}") from None


def list_methods(model: ModelAdapter | None = None) -> list[str]:
    """Registry keys, those that support `model` when one is given."""
    _load_methods()
    return [k for k, m in REGISTRY.items() if model is None or m.supports(model)]


def _load_methods() -> None:
    import explainers.methods  # noqa: F401  (registers every method on import)


def resolve_target(model: ModelAdapter, raw: Any, target: int | str | None) -> Any:
    """None -> predicted class; a class name -> its index; an index is range-checked.
    A language model's target is the continuation text and passes through (None = greedy)."""
    names = model.info.class_names
    if model.info.modality == "generation":
        return target
    if target is None:
        return int(np.argmax(model.predict(raw)))
    if isinstance(target, str) and not target.lstrip("-").isdigit():
        if target not in names:
            raise InputError(f"unknown target {target!r}; {model.info.name} is a classifier, "
                             f"its targets are the classes {list(names)} (a continuation text "
                             "is a target only for a language model)")
        return names.index(target)
    idx = int(target)
    if not 0 <= idx < len(names):
        raise InputError(f"target {idx} is out of range 0..{len(names) - 1}")
    return idx


def explain(
    model: ModelAdapter, raw: Any, method: str, target: int | str | None = None, *,
    control: Any = None, **params: Any
) -> Attribution:
    """Explain one raw input with one method; target None = the predicted class.

    `control` (explainers.control.Control): a cancel token and a time limit checked between
    Captum batches and while waiting for the model's lock; a stopped call raises
    CancelledError / TimeLimitError and returns nothing."""
    explainer = get_method(method)
    if not explainer.supports(model):
        offered = ", ".join(list_methods(model))
        raise UnsupportedError(f"{explainer.why_not(model)}; methods for {model.info.name}: "
                               f"{offered}")
    raw = fitted_raw(model, raw)  # a long text: what the model reads, with an InputNotice
    with _scope(model, control, params) as params, model_guard(model):
        idx = resolve_target(model, raw, target)
        start = time.perf_counter()
        result = explainer.explain(model, raw, idx, **params)
        seconds = time.perf_counter() - start
    return _with(result, seconds=seconds, model_name=model.info.name, modality=model.info.modality)


@contextmanager
def _scope(model: ModelAdapter, control: Any, params: dict[str, Any]
           ) -> Iterator[dict[str, Any]]:
    """The model's lock held for one explanation; under a Control, also checked before, while
    waiting for the lock and between batches (its guard wraps the progress callback)."""
    if control is None:
        with model.lock:
            yield params
        return
    from explainers.control import active

    control.check()
    params = {**params, "progress": control.guard(params.get("progress"))}
    with control.holding(model.lock, model.info.name), active(control):
        control.check()
        yield params


def explain_batch(model: ModelAdapter, raws: list[Any], method: str,
                  targets: list[int | str | None] | None = None, **params: Any
                  ) -> list[Attribution]:
    """explain() for many inputs: methods that declare `batchable` attribute inputs of one
    shape in one Captum call; row r equals explain(model, raws[r], method, targets[r])."""
    explainer = get_method(method)
    if not explainer.supports(model):
        raise UnsupportedError(explainer.why_not(model))
    targets = list(targets) if targets is not None else [None] * len(raws)
    if len(targets) != len(raws):
        raise InputError(f"{len(targets)} targets for {len(raws)} inputs")
    raws = [fitted_raw(model, r) for r in raws]
    with model.lock, model_guard(model):
        idx = [resolve_target(model, r, t) for r, t in zip(raws, targets, strict=True)]
        start = time.perf_counter()
        rows = explainer.explain_batch(model, list(raws), idx, **params)
        seconds = (time.perf_counter() - start) / max(1, len(rows))
    info = model.info
    return [_with(a, seconds=seconds, model_name=info.name, modality=info.modality) for a in rows]


EXPLAINER_LIBS = ("captum", "shap", "explainers", "torch")


def _ours(hook: Any) -> bool:
    """Was this hook added by an explainer library (and not by the model's own code, e.g.
    transformers installing its output recorders lazily on the first call)?"""
    fn = getattr(hook, "func", hook)  # functools.partial
    fn = getattr(fn, "__func__", fn)  # bound method
    return str(getattr(fn, "__module__", "") or "").split(".")[0] in EXPLAINER_LIBS


HOOK_DICTS = (
    "_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs",
)


@contextmanager
def model_guard(model: ModelAdapter) -> Iterator[None]:
    """Leave the model as found: hooks added meanwhile removed, grad flags and modes restored."""
    module = model.module
    mods = list(module.modules())
    hooks = [{n: set(getattr(m, n)) for n in HOOK_DICTS if hasattr(m, n)} for m in mods]
    flags = [(m, m.training, getattr(m, "_is_full_backward_hook", None)) for m in mods]
    grads = [(p, p.requires_grad) for p in module.parameters()]
    try:
        yield
    finally:
        for m, before in zip(mods, hooks, strict=True):
            for name, keys in before.items():
                table = getattr(m, name)
                for k in [k for k in table if k not in keys and _ours(table[k])]:
                    del table[k]
        for m, training, full in flags:
            m.training = training
            if full is not None or hasattr(m, "_is_full_backward_hook"):
                m._is_full_backward_hook = full
        for p, flag in grads:
            p.requires_grad_(flag)


def _with(a: Attribution, **changes: Any) -> Attribution:
    from dataclasses import replace

    return replace(a, **changes)

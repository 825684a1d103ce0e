"""Several devices: one explanation's batches cut over every visible GPU, gathered on the first."""
from __future__ import annotations

import contextlib
import copy
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from models.errors import InputError

ENV_VAR = "GLASSBOX_DEVICES"  # "cuda:0,cuda:1", or "cpu,cpu" to stand the CPU in for each device
# Methods whose whole work is batches through a plain forward: IG steps, SmoothGrad/GradientSHAP
# samples, perturbation batches. Layer and hook methods (LayerIG on text embeddings, DeepLift,
# LRP, guided backprop, Grad-CAM, attention) hook modules of the model itself, which a replica
# on another device does not carry, so they stay on the model's own device.
SPLIT_METHODS = frozenset({
    "integrated_gradients", "smoothgrad", "gradient_shap", "occlusion", "feature_ablation",
    "lime", "kernel_shap", "shapley_value_sampling", "shap_partition", "shap_gradient"})
_FORCED: list[torch.device] | None = None
_REPLICAS: weakref.WeakKeyDictionary[torch.nn.Module, dict[str, Any]] = (
    weakref.WeakKeyDictionary())
_LOCK = threading.Lock()


@contextlib.contextmanager
def use_devices(devices: Sequence[str | torch.device] | None) -> Iterator[None]:
    """Within the block, explanations split over `devices` (e.g. ["cpu", "cpu"] in tests)."""
    global _FORCED
    before = _FORCED
    _FORCED = None if devices is None else [torch.device(d) for d in devices]
    try:
        yield
    finally:
        _FORCED = before


def _parse(text: str) -> list[torch.device]:
    try:
        return [torch.device(d.strip()) for d in text.split(",") if d.strip()]
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"{ENV_VAR}={text!r}: use a comma list such as cuda:0,cuda:1") from exc


def visible_devices(model: Any) -> list[torch.device]:
    """Devices an explanation on `model` may use, the model's own first: use_devices(), then
    $GLASSBOX_DEVICES, then every CUDA device when the model is on one and there are several."""
    found = _FORCED if _FORCED is not None else _parse(os.environ.get(ENV_VAR, ""))
    if not found and model.device.type == "cuda" and torch.cuda.device_count() > 1:
        found = [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    if len(found) < 2:
        return [model.device]
    rest = list(found)
    same = [d for d in rest if _same(d, model.device)]
    if same:
        rest.remove(same[0])
    else:
        rest = rest[1:]
    return [model.device, *rest]


def _same(a: torch.device, b: torch.device) -> bool:
    index = lambda d: d.index or 0  # noqa: E731  (cuda == cuda:0)
    return a.type == b.type and (a.type == "cpu" or index(a) == index(b))


def replica(model: Any, device: torch.device, slot: int) -> Any:
    """A copy of the adapter whose module is a deep copy on `device` (made once, kept while the
    model lives); `slot` keeps stand-ins on one device apart."""
    with _LOCK:
        cache = _REPLICAS.setdefault(model.module, {})
        key = f"{device}#{slot}"
        if key not in cache:
            twin = copy.copy(model)
            twin.module = copy.deepcopy(model.module).to(device)
            twin.device = device
            cache[key] = twin
        return cache[key]


class SplitForward:
    """forward(*xs): the rows of xs cut into one chunk per device, each chunk run by the model
    (first device) or its replica (the others), the outputs concatenated on the first device.
    Gradients flow back through the copies, so gradient methods get the same attributions.
    `rows[i]` counts the rows device i evaluated."""

    def __init__(self, fns: list[Callable[..., torch.Tensor]], devices: list[torch.device]):
        self.fns, self.devices = fns, devices
        self.rows = [0] * len(devices)
        self.n_devices = len(devices)

    def __call__(self, *xs: torch.Tensor) -> torch.Tensor:
        n = xs[0].shape[0]
        k = min(self.n_devices, n)
        if k == 1:
            self.rows[0] += n
            return self.fns[0](*xs)
        bounds = [n * i // k for i in range(k + 1)]
        parts = [tuple(t[a:b].to(d) if isinstance(t, torch.Tensor) else t for t in xs)
                 for a, b, d in zip(bounds, bounds[1:], self.devices, strict=False)]
        outs = self._apply(self.fns[:k], parts, self.devices[:k])
        for i in range(k):
            self.rows[i] += bounds[i + 1] - bounds[i]
        home = self.devices[0]
        return torch.cat([o.to(home) for o in outs])

    @staticmethod
    def _apply(fns: list, parts: list, devices: list[torch.device]) -> list[torch.Tensor]:
        """All CUDA: one thread per GPU (torch.nn.parallel.parallel_apply, as DataParallel);
        stand-ins on the CPU: one chunk after the other."""
        if all(d.type == "cuda" for d in devices):
            from torch.nn.parallel import parallel_apply

            return parallel_apply(fns, parts, devices=devices)
        return [fn(*p) for fn, p in zip(fns, parts, strict=True)]


def spread(method_name: str, model: Any, fn: Callable[..., torch.Tensor],
           used: dict[str, Any] | None = None) -> Callable[..., torch.Tensor]:
    """fn, or a SplitForward over every visible device when there are several and the method's
    work is plain batches; `used` gets the devices and the rows each evaluated."""
    if method_name not in SPLIT_METHODS or model.info.modality == "generation":
        return fn
    if model.info.modality == "text" and method_name not in _FORWARD_ONLY:
        return fn  # gradient methods on text attribute the embedding layer (a hook)
    owner, name = getattr(fn, "__self__", None), getattr(fn, "__name__", "")
    devices = visible_devices(model)
    if len(devices) < 2 or owner is not model:
        return fn
    fns = [fn, *(getattr(replica(model, d, i), name) for i, d in enumerate(devices[1:], 1))]
    split = SplitForward(fns, devices)
    if used is not None:
        used["devices"] = [str(d) for d in devices]
        used["device_rows"] = split.rows
    return split


_FORWARD_ONLY = frozenset({"occlusion", "feature_ablation", "lime", "kernel_shap",
                           "shapley_value_sampling", "shap_partition"})

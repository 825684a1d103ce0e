"""Dynamic int8 quantization (CPU) and float16/bfloat16 casting of a copy of a model's module."""
from __future__ import annotations

import copy
import warnings
from typing import Any

import torch
from torch import nn

from models.base import ModelAdapter
from models.compress.wrap import wrap_compressed
from models.errors import InputError, UnsupportedError

MODES = ("int8", "float16", "bfloat16")
DYNAMIC_LAYERS = (nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell, nn.RNNCell)
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


class CastModule(nn.Module):
    """Runs `inner` in a low-precision dtype: floating inputs cast in, logits cast back to float32.

    Attribute look-ups fall through to `inner`, so adapters that read e.g. `module.mean` work.
    """

    def __init__(self, inner: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.inner = inner.to(dtype)
        self.dtype = dtype

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if name.startswith("__") or "inner" not in modules:
                raise
            return getattr(modules["inner"], name)

    def _cast(self, v: Any) -> Any:
        return v.to(self.dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        out = self.inner(*[self._cast(a) for a in args],
                         **{k: self._cast(v) for k, v in kwargs.items()})
        if isinstance(out, torch.Tensor) and out.is_floating_point():
            return out.float()
        if hasattr(out, "logits") and isinstance(out.logits, torch.Tensor):
            out.logits = out.logits.float()
        return out


def is_int8(module: nn.Module) -> bool:
    """True when the module runs int8 kernels (dynamically quantized layers), which have no
    gradients: backward through them gives none or wrong ones."""
    return any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in module.modules())


def quantize_int8(module: nn.Module) -> nn.Module:
    """A deep copy on the CPU with Linear/recurrent layers dynamically quantized to int8."""
    if not any(isinstance(m, DYNAMIC_LAYERS) for m in module.modules()):
        raise UnsupportedError("dynamic int8 quantization needs Linear or recurrent layers; "
                               "this module has none")
    engines = torch.backends.quantized.supported_engines
    if not any(e in engines for e in ("x86", "fbgemm", "qnnpack", "onednn")):
        raise UnsupportedError(f"no int8 CPU kernel engine available (have {engines})")
    work = copy.deepcopy(module).cpu().eval()
    with warnings.catch_warnings():  # torch.ao.quantization warns it will move to torchao
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(work, set(DYNAMIC_LAYERS), dtype=torch.qint8, inplace=True)


def cast(module: nn.Module, mode: str) -> CastModule:
    """A deep copy of the module in float16 or bfloat16 (inputs/outputs cast at its edge)."""
    if mode not in _DTYPES:
        raise InputError(f"unknown precision {mode!r}; use one of {', '.join(_DTYPES)}")
    return CastModule(copy.deepcopy(module), _DTYPES[mode])


def probe(model: ModelAdapter, raw: Any) -> str:
    """Run one forward pass of a (compressed) model; '' if it works, else why it does not."""
    try:
        with torch.no_grad():
            out = model.forward(*model.as_tuple(model.preprocess(raw)))
    except (RuntimeError, NotImplementedError, TypeError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    if not torch.isfinite(out.float()).all():
        return "the forward pass gives NaN or infinite logits"
    return ""


def _probe_input(model: ModelAdapter, raw: Any) -> Any:
    if raw is not None:
        return raw
    if hasattr(model, "samples"):
        rows = model.samples(1, 0)
        if rows:
            return rows[0][0]
    raise InputError(f"give an input to test {model.info.name} in low precision "
                     "(the model has no samples)")


def quantize_adapter(model: ModelAdapter, mode: str = "int8", raw: Any = None) -> ModelAdapter:
    """The model in int8 (dynamic, CPU) / float16 / bfloat16, as a new adapter.

    Low-precision casts are checked with one forward pass on `raw` (or the first sample) on
    the model's device; a device without the kernels raises UnsupportedError saying so.
    """
    if mode not in MODES:
        raise InputError(f"unknown quantization mode {mode!r}; use one of {', '.join(MODES)}")
    if mode == "int8":
        module, device = quantize_int8(model.module), torch.device("cpu")
        n = sum(isinstance(m, DYNAMIC_LAYERS) for m in model.module.modules())
        details = {"op": "quantize", "mode": mode, "quantized_layers": n,
                   "note": "dynamic int8 kernels run on the CPU"}
        return wrap_compressed(model, module, "int8 dynamic", device=device, details=details)
    compressed = wrap_compressed(model, cast(model.module, mode), mode,
                                 details={"op": "quantize", "mode": mode})
    problem = probe(compressed, _probe_input(model, raw))
    if problem:
        raise UnsupportedError(f"{mode} does not run on {model.device} for {model.info.name}: "
                               f"{problem}; try {'bfloat16' if mode == 'float16' else 'int8'}")
    return compressed

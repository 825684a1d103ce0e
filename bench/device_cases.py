"""The device check's pieces: inputs, check-size params, agreement, forced OOM, half precision."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from explainers import batching, explain, get_method
from models.base import HasSamples

PROMPT = "The film was"
CONTINUATION = " great fun."  # a fixed target for the language model: both devices explain it
TEXT = "A warm, funny and beautifully acted film."
# check-size parameters: every method runs, none runs long; --quick shrinks them further
FULL = {"n_steps": 16, "nt_samples": 8, "n_samples": 64, "n_baselines": 8, "n_background": 8,
        "max_evals": 120, "n_segments": 16, "max_new_tokens": 4}
QUICK = {**FULL, "n_steps": 8, "nt_samples": 4, "n_samples": 24, "n_baselines": 4,
         "n_background": 4, "max_evals": 40, "n_segments": 9}
PER_METHOD = {"shapley_value_sampling": {"n_samples": 2}, "gradient_shap": {"n_samples": 8},
              "shap_gradient": {"n_samples": 16}}
TOL_DET = 1e-3  # relative L2, fp32 on both devices (TF32 off)
TOL_RANK = 0.8  # Spearman, when a device draws its own random numbers / half precision
TOL_SAME = 1e-5  # relative L2, one device, only the batch differs (OOM retry, split)
TRANSFORMERS = ("sentiment-minilm", "review-gpt")


@dataclass
class Row:
    model: str
    case: str
    cpu_s: float | None = None
    cuda_s: float | None = None
    batch_cpu: Any = "-"
    batch_cuda: Any = "-"
    check: str = "-"
    ok: bool | None = None


def raw_input(model: Any) -> Any:
    if isinstance(model, HasSamples):
        return model.samples(1, seed=0)[0][0]
    return PROMPT if model.info.modality == "generation" else TEXT


def target_of(model: Any, raw: Any) -> Any:
    """The predicted class (from this model), or the fixed continuation for a language model."""
    if model.info.modality == "generation":
        return CONTINUATION
    return int(np.argmax(model.predict(raw)))


def params(model: Any, method: str, quick: bool) -> dict[str, Any]:
    """The check-size values of the parameters `method` takes on `model`, plus a seed."""
    names = get_method(method).param_names(model)
    base = {**(QUICK if quick else FULL), **PER_METHOD.get(method, {})}
    out = {k: v for k, v in base.items() if k in names}
    if "feature_mask" in names:
        out["feature_mask"] = "grid"
    side = (model.info.input_size or (0, 0))[0]
    if method == "occlusion" and side > 64:  # 49 windows on a 224 photo, not 225
        out.update(sliding_window_shapes=side // 4, strides=side // 8)
    return {**out, "seed": 0}


def timed(model: Any, raw: Any, method: str, kw: dict, target: Any) -> tuple[Any, float]:
    """One warm-up call, then the timed one (its result is the one compared)."""
    explain(model, raw, method, target=target, **kw)
    start = time.perf_counter()
    a = explain(model, raw, method, target=target, **kw)
    return a, time.perf_counter() - start


def flat(a: Any) -> np.ndarray:
    v = a.values
    parts = [v[k] for k in sorted(v)] if isinstance(v, dict) else [v]
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 1.0
    rho = spearmanr(a, b).statistic
    return float(rho) if np.isfinite(rho) else 0.0


def agree(method: str, a: Any, b: Any) -> tuple[str, bool]:
    """Deterministic methods: relative L2 <= 1e-3. Stochastic ones (fixed seed) the same, or
    Spearman >= 0.8 where the device draws its own random numbers."""
    x, y = flat(a), flat(b)
    r = rel_l2(x, y)
    if not get_method(method).stochastic:
        return f"relL2 {r:.1e} <= {TOL_DET:g}", r <= TOL_DET
    rho = spearman(x, y)
    return f"relL2 {r:.1e}, rho {rho:.3f} >= {TOL_RANK}", r <= TOL_DET or rho >= TOL_RANK


class OomCounter:
    """Counts the out-of-memory errors the halving retry catches (wraps batching.is_oom)."""

    def __init__(self) -> None:
        self.n, self._orig = 0, batching.is_oom

    def __enter__(self) -> OomCounter:
        def counted(exc: BaseException) -> bool:
            hit = self._orig(exc)
            self.n += int(hit)
            return hit

        batching.is_oom = counted
        return self

    def __exit__(self, *_: Any) -> None:
        batching.is_oom = self._orig


def simulated_oom(model: Any, raw: Any, method: str, kw: dict, limit: int) -> tuple[Any, int]:
    """explain() while the model raises an allocator-style OOM on batches above `limit`."""

    def hook(_m: torch.nn.Module, args: tuple) -> None:
        if args and isinstance(args[0], torch.Tensor) and args[0].shape[0] > limit:
            raise RuntimeError(f"CUDA out of memory (simulated above {limit} rows)")

    handle = model.module.register_forward_pre_hook(hook)
    try:
        with OomCounter() as c:
            a = explain(model, raw, method, target=0, **kw)
    finally:
        handle.remove()
    return a, c.n


def cuda_oom(model: Any, raw: Any, method: str, kw: dict, need: int) -> tuple[Any, int]:
    """explain() under torch.cuda.set_per_process_memory_fraction: reserved now + need/4."""
    dev = model.device
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(dev).total_memory
    cap = torch.cuda.memory_reserved(dev) + need // 4
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total), dev)
    try:
        with OomCounter() as c:
            a = explain(model, raw, method, target=0, **kw)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, dev)
        torch.cuda.empty_cache()
    return a, c.n


def oom_row(name: str, model: Any, raw: Any, real: bool) -> Row:
    """IG (64 steps; 24 for a 224 photo on the CPU): the batch picked from free memory, then an OOM forced (a real CUDA
    one under a memory cap, or a simulated one), halved until it fits; same numbers asked."""
    steps = 64 if model.device.type == "cuda" or model.info.input_size != (224, 224) else 24
    kw = {"n_steps": steps, "seed": 0}
    ref = explain(model, raw, "integrated_gradients", target=0, **kw)
    picked = ref.extras["batch_size"]
    x = model.preprocess(raw)
    x = x if isinstance(x, tuple) else (x,)
    start = time.perf_counter()
    try:
        if real:
            need = int(batching.per_sample_bytes(model, x) * batching.GRAD_FACTOR * steps)
            a, n = cuda_oom(model, raw, "integrated_gradients", kw, need)
        else:
            a, n = simulated_oom(model, raw, "integrated_gradients", kw, max(2, picked // 5))
    except RuntimeError as exc:
        return Row(name, f"OOM retry (IG {steps} steps)", check=f"failed: {str(exc)[:60]}",
                   ok=False)
    secs = time.perf_counter() - start
    r = rel_l2(flat(a), flat(ref))
    kind = "set_per_process_memory_fraction" if real else "simulated OOM"
    row = Row(name, f"OOM retry, {kind}, IG {steps} steps", check=f"{n} OOM, relL2 {r:.1e} <= {TOL_SAME:g}",
              ok=n > 0 and r <= TOL_SAME)
    batch = f"{picked} -> {a.extras['batch_size']}"
    if real:
        row.cuda_s, row.batch_cuda = secs, batch
    else:
        row.cpu_s, row.batch_cpu = secs, batch
    return row


def split_row(name: str, model: Any, raw: Any, quick: bool, over: list[str]) -> Row:
    """One IG split over devices `over` (CPU stand-ins, or every GPU) vs one device."""
    from explainers import devices

    kw = params(model, "integrated_gradients", quick)
    with devices.use_devices([str(model.device)]):
        one = explain(model, raw, "integrated_gradients", target=0, **kw)
    start = time.perf_counter()
    with devices.use_devices(over):
        two = explain(model, raw, "integrated_gradients", target=0, **kw)
    secs = time.perf_counter() - start
    r = rel_l2(flat(two), flat(one))
    rows = two.extras.get("device_rows", [])
    gpus = model.device.type == "cuda"
    row = Row(name, f"IG split over {len(over)} {'GPUs' if gpus else 'CPU stand-ins'}",
              check=f"relL2 {r:.1e} <= {TOL_SAME:g}", ok=len(rows) == len(over) and r <= TOL_SAME)
    if gpus:
        row.cuda_s, row.batch_cuda = secs, f"rows {rows}"
    else:
        row.cpu_s, row.batch_cpu = secs, f"rows {rows}"
    return row


def half_rows(name: str, device: str, quick: bool) -> list[Row]:
    """Transformers in bf16 (CPU and CUDA) and fp16 (CUDA) vs fp32, same device: Spearman."""
    from models import load_model

    ref_model = load_model(name, device=device)
    raw = raw_input(ref_model)
    dtypes = (torch.bfloat16, torch.float16) if device == "cuda" else (torch.bfloat16,)
    out = []
    for dtype in dtypes:
        model = load_model(name, device=device)
        model.module.to(dtype)  # in place: embedding_layer still names the same module
        target = target_of(ref_model, raw)
        for method in ("saliency", "integrated_gradients"):
            out.append(half_row(name, ref_model, model, raw, method, target, quick))
    return out


def half_row(name: str, ref_model: Any, model: Any, raw: Any, method: str, target: Any,
             quick: bool) -> Row:
    dtype = str(next(model.module.parameters()).dtype)[6:]
    row = Row(name, f"{method} {dtype} vs fp32")
    try:
        kw = params(model, method, quick)
        ref = explain(ref_model, raw, method, target=target, **kw)
        a, secs = timed(model, raw, method, kw, target)
    except Exception as exc:  # noqa: BLE001  (one failed row; the other precisions go on)
        row.check, row.ok = f"error: {' '.join(str(exc).split())[:70]}", False
        return row
    rho, r = spearman(flat(a), flat(ref)), rel_l2(flat(a), flat(ref))
    row.check, row.ok = f"rho {rho:.3f} >= {TOL_RANK}, relL2 {r:.1e}", rho >= TOL_RANK
    if model.device.type == "cuda":
        row.cuda_s = secs
    else:
        row.cpu_s = secs
    return row

"""Original vs compressed model side by side: accuracy, size, latency and explanation drift."""
from __future__ import annotations

import contextlib
import json
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from explainers.base import Attribution, explain, get_method, list_methods
from models.base import HasSamples, IsCompressed, ModelAdapter
from models.compress import is_int8, predictions, prune_sweep
from models.compress.measure import latencies, paired_ratio, size_report
from models.errors import CancelledError, GlassboxError, InputError

Progress = Callable[[int, int], Any]
FALLBACKS = ("occlusion", "feature_ablation", "kernel_shap")  # forward passes only
METHOD_ERRORS = (GlassboxError, RuntimeError, ValueError, TypeError, NotImplementedError)


@dataclass
class Drift:
    """How one method's attributions moved: mean Spearman rho and top-k overlap over inputs."""

    method: str  # as asked
    used_method: str  # what ran on both models (a perturbation method after a fallback)
    spearman: float
    topk_overlap: float
    k: int
    n: int
    spearman_each: list[float] = field(default_factory=list)
    topk_each: list[float] = field(default_factory=list)
    notice: str = ""


@dataclass
class Comparison:
    """Everything measured for one compressed model against its original, in one run."""

    original: str
    compressed: str
    details: dict[str, Any]
    n_accuracy: int
    accuracy_original: float
    accuracy: float
    agreement: float  # fraction of held-out inputs where both predict the same class
    size_original: dict[str, Any]
    size: dict[str, Any]
    latency_original_ms: float
    latency_ms: float
    latency_ratio: float  # median over interleaved rounds of compressed / original time
    batch_size: int
    devices: tuple[str, str] = ("", "")  # where the original / compressed model ran
    drift: dict[str, Drift] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (NaN becomes None)."""
        return _clean(asdict(self))


def _clean(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


# ------------------------------------------------------------------ rank agreement
def flat(a: Attribution) -> np.ndarray:
    """All attribution values as one float vector (fusion: image then text)."""
    if isinstance(a.values, dict):
        return np.concatenate([np.asarray(a.values[k], float).ravel() for k in sorted(a.values)])
    return np.asarray(a.values, float).ravel()


def default_k(n: int) -> int:
    """Top-k size: 10 % of the units, at least 5, at most half of them (so overlap can move)."""
    return max(1, min(max(5, n // 10), n // 2))


def rank_agreement(a: np.ndarray, b: np.ndarray, k: int | None = None) -> tuple[float, float]:
    """(Spearman rho, top-k overlap) of the importance |a| vs |b|; equal maps give (1, 1).

    Units where both maps are exactly zero are left out of rho (they are ties by
    construction, e.g. black pixels under integrated gradients with a black baseline)."""
    from scipy.stats import spearmanr

    a, b = np.abs(np.asarray(a, float).ravel()), np.abs(np.asarray(b, float).ravel())
    if a.shape != b.shape:
        raise InputError(f"attributions differ in size ({a.size} vs {b.size})")
    k = default_k(a.size) if k is None else max(1, min(int(k), a.size))
    top_a = set(np.argsort(-a, kind="stable")[:k].tolist())
    top_b = set(np.argsort(-b, kind="stable")[:k].tolist())
    overlap = len(top_a & top_b) / k
    if np.array_equal(a, b):
        return 1.0, overlap
    live = (a != 0) | (b != 0)  # units zero in both (black pixels under IG) carry no rank
    a, b = a[live], b[live]
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan, overlap
    return float(spearmanr(a, b).statistic), overlap


# ------------------------------------------------------------------ drift
def _fallback(method: str, compressed: ModelAdapter, original: ModelAdapter) -> str | None:
    available = set(list_methods(compressed)) & set(list_methods(original))
    return next((m for m in FALLBACKS if m in available and m != method), None)


def _call(model: ModelAdapter, raw: Any, method: str, target: int, params: dict[str, Any],
          seed: int) -> Attribution:
    p = dict(params)
    if get_method(method).stochastic:
        p.setdefault("seed", seed)  # the same noise for both models: drift is the model's
    return explain(model, raw, method, target=target, **p)


def _pairs(original: ModelAdapter, compressed: ModelAdapter, method: str,
           inputs: list[tuple[Any, int]], params: dict[str, Any], seed: int,
           reference: dict, mine: dict, tick: Callable[[], None]
           ) -> Iterator[tuple[Attribution, Attribution]]:
    tag = json.dumps(params, sort_keys=True, default=str)
    for i, (raw, target) in enumerate(inputs):
        key = (method, tag, i)
        if key not in reference:
            reference[key] = _call(original, raw, method, target, params, seed)
        if key not in mine:
            mine[key] = _call(compressed, raw, method, target, params, seed)
        yield reference[key], mine[key]
        tick()


def method_drift(original: ModelAdapter, compressed: ModelAdapter, method: str,
                 inputs: list[tuple[Any, int]], params: dict[str, Any] | None = None,
                 seed: int = 0, top_k: int | None = None, reference: dict | None = None,
                 mine: dict | None = None, tick: Callable[[], None] = lambda: None) -> Drift:
    """Drift of one method over (raw, target) inputs; never raises for a method that cannot
    run on the compressed model: it falls back to a perturbation method, or reports why not."""
    reference = {} if reference is None else reference  # original's attributions, reusable
    mine = {} if mine is None else mine  # the compressed model's (two methods may share one)
    used, notice = method, ""
    why = get_method(method).why_not(original)
    if why:
        return Drift(method, method, math.nan, math.nan, 0, 0, notice=f"skipped: {why}")
    if get_method(method).gradients and is_int8(compressed.module):
        used = _fallback(method, compressed, original)
        notice = (f"{method} needs gradients, which int8 kernels do not give; "
                  + (f"compared {used} instead" if used else "no perturbation method fits"))
    for attempt in range(2):
        if used is None:
            break
        try:
            rows = [rank_agreement(flat(a), flat(b), top_k)
                    for a, b in _pairs(original, compressed, used, inputs,
                                       (params or {}) if used == method else {}, seed,
                                       reference, mine, tick)]
            rho, top = [r[0] for r in rows], [r[1] for r in rows]
            flat_maps = sum(math.isnan(r) for r in rho)
            if flat_maps:
                notice = "; ".join(filter(None, [notice, (
                    f"rank correlation undefined on {flat_maps} of {len(rho)} inputs: {used} "
                    "gives the same value to every unit there")]))
            n = len(flat(next(iter(mine.values())))) if mine else 0
            return Drift(method, used, _mean(rho), _mean(top), default_k(n) if top_k is None
                         else min(top_k, n), len(rows), rho, top, notice)
        except CancelledError:
            raise
        except METHOD_ERRORS as exc:
            fb = _fallback(used, compressed, original) if attempt == 0 else None
            notice = (f"{used} failed on {compressed.info.name}: {exc}"
                      + (f"; compared {fb} instead" if fb else ""))
            used = fb
    return Drift(method, used or method, math.nan, math.nan, 0, 0, notice=notice)


def _mean(xs: Sequence[float]) -> float:
    good = [x for x in xs if not math.isnan(x)]
    return float(np.mean(good)) if good else math.nan


# ------------------------------------------------------------------ one comparison
@contextlib.contextmanager
def _locked(*models: ModelAdapter) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for m in models:
            stack.enter_context(m.lock)
        yield


def _ticker(progress: Progress | None, total: int) -> Callable[[], None]:
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None and progress(min(done[0], total), total) is False:
            raise CancelledError(f"comparison cancelled at step {done[0]} of {total}")

    return tick


def compare(original: ModelAdapter, compressed: ModelAdapter, methods: Sequence[str] = (),
            n_accuracy: int | None = None, n_explain: int = 5, params: dict | None = None,
            seed: int = 0, top_k: int | None = None, batch_size: int = 32,
            latency_runs: int = 7, progress: Progress | None = None,
            reference: dict | None = None) -> Comparison:
    """Measure `compressed` against `original` on the original's held-out samples().

    params: {method: {param: value}}; reference: a dict reused across calls (a sweep) that
    caches the original's attributions.
    """
    start = time.perf_counter()
    for m in methods:
        get_method(m)  # an unknown name is the caller's error: UnknownNameError, at once
    samples = original.samples(n_accuracy, seed) if isinstance(original, HasSamples) else []
    if not samples:
        raise InputError(f"{original.info.name} has no held-out samples to compare on")
    tick = _ticker(progress, 2 + len(methods) * min(n_explain, len(samples)))
    raws, truth = [r for r, _ in samples], np.array([y for _, y in samples])
    with _locked(original, compressed):
        p0, p1 = predictions(original, raws), predictions(compressed, raws)
        tick()
        times = latencies([original, compressed], raws, batch_size, latency_runs)
        tick()
    inputs = [(raws[i], int(p0[i])) for i in range(min(n_explain, len(raws)))]
    mine: dict = {}
    drift = {m: method_drift(original, compressed, m, inputs, (params or {}).get(m), seed,
                             top_k, reference, mine, tick) for m in methods}
    return Comparison(
        original=original.info.name, compressed=compressed.info.name,
        details=dict(compressed.compression if isinstance(compressed, IsCompressed) else {}),
        n_accuracy=len(samples),
        accuracy_original=float((p0 == truth).mean()), accuracy=float((p1 == truth).mean()),
        agreement=float((p0 == p1).mean()), size_original=size_report(original.module),
        size=size_report(compressed.module),
        latency_original_ms=statistics.median(times[0]) * 1e3,
        latency_ms=statistics.median(times[1]) * 1e3, latency_ratio=paired_ratio(*times),
        batch_size=batch_size, devices=(str(original.device), str(compressed.device)),
        drift=drift,
        notices=[d.notice for d in drift.values() if d.notice],
        seconds=time.perf_counter() - start)


def sweep(original: ModelAdapter, amounts: Sequence[float], methods: Sequence[str] = (),
          kind: str = "unstructured", scope: str = "global", progress: Progress | None = None,
          **kwargs: Any) -> list[tuple[ModelAdapter, Comparison]]:
    """Prune at each amount and compare each with the original (its attributions computed once)."""
    reference: dict = {}
    out = []
    amounts = list(amounts)
    for i, (_, model) in enumerate(prune_sweep(original, amounts, kind, scope)):
        def part(done: int, total: int, i: int = i) -> Any:
            return None if progress is None else progress(i * total + done, len(amounts) * total)

        out.append((model, compare(original, model, methods, progress=part,
                                   reference=reference, **kwargs)))
    return out

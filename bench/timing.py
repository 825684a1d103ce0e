"""Shared by the benchmarks: round-robin medians, and Captum's own Gauss-Legendre nodes.

Import this before `explainers`: explainers caches the nodes that Captum recomputes on every
call, and a "Captum default" row must run with Captum's own."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from captum.attr._utils import approximation_methods as am

CAPTUM_NODES = am.gauss_legendre_builders  # Captum's own, before explainers caches them


def measure(fns: dict[str, Callable[[], object]], runs: int, warm_up: bool = True,
            scale: float = 1000.0) -> dict[str, float]:
    """Median time per function (ms by default), round-robin so load changes hit all alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    if warm_up:
        for fn in fns.values():
            fn()
    for _ in range(runs):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) * scale for k, v in times.items()}


def captum_nodes(fn: Callable[[], Any]) -> Callable[[], Any]:
    """fn run with Captum's own (uncached) Gauss-Legendre nodes: the true default."""
    def wrapped() -> Any:
        cached = am.gauss_legendre_builders
        am.gauss_legendre_builders = CAPTUM_NODES
        try:
            return fn()
        finally:
            am.gauss_legendre_builders = cached

    return wrapped

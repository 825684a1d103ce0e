"""Plot lookup for the pages: every figure comes from explainers.plots (one source of truth)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from explainers import plots
from models import UnknownNameError


def plot(name: str) -> Callable[..., Any]:
    """The named plot function of explainers.plots (UnknownNameError naming the ones there)."""
    fn = getattr(plots, name, None)
    if fn is None or not callable(fn):
        raise UnknownNameError(f"explainers.plots has no {name!r}; it has: {plots.__all__}")
    return fn

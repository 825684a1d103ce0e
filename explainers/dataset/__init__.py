"""Data-set jobs: explain and evaluate a whole data set in-process or on Ray (see docs/datasets.md)."""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ENGINES": "job", "JobResult": "job", "run_job": "job",
    "load": "store", "read_manifest": "store", "read_metrics": "store",
    "raw_input": "summary", "summaries": "summary",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Lazy: `python -m explainers --help` does not import torch's method stack for this."""
    if name not in _WHERE:
        raise AttributeError(f"module 'explainers.dataset' has no attribute {name!r}")
    return getattr(importlib.import_module(f"explainers.dataset.{_WHERE[name]}"), name)

"""Explainers layer: what an explanation is (methods, results, metrics, plots, reports, CLI)."""
from explainers.base import (
    REGISTRY,
    Attribution,
    Explainer,
    Param,
    explain,
    explain_batch,
    get_method,
    list_methods,
    register,
    resolve_target,
)

__all__ = [
    "REGISTRY", "Attribution", "Explainer", "Param", "explain", "explain_batch", "get_method", "list_methods",
    "register", "resolve_target",
]

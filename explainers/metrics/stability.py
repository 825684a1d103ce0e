"""Stability across seeds: mean and standard-deviation maps and mean pairwise rank correlation."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from explainers.base import Explainer, Progress
from explainers.metrics._common import as_list, finite, is_stochastic, run_method, spearman, tick
from models.base import ModelAdapter
from models.errors import InputError


@dataclass(frozen=True)
class Stability:
    """A method run with K seeds: 1.0 = every seed gives the same ranking (deterministic methods)."""

    method: str
    seeds: tuple[int, ...]
    mean_map: Any  # same shape as Attribution.values (dict for fusion)
    std_map: Any
    mean_pairwise_spearman: float
    min_pairwise_spearman: float
    stochastic: bool
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, maps: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method, "seeds": list(self.seeds), "stochastic": self.stochastic,
            "mean_pairwise_spearman": finite(self.mean_pairwise_spearman),
            "min_pairwise_spearman": finite(self.min_pairwise_spearman),
            "settings": dict(self.settings),
        }
        if maps:
            out["mean_map"] = _map_apply(self.mean_map, as_list)
            out["std_map"] = _map_apply(self.std_map, as_list)
        return out


def _map_apply(values: Any, fn: Any) -> Any:
    return {k: fn(v) for k, v in values.items()} if isinstance(values, dict) else fn(values)


def _moments(maps: list[Any]) -> tuple[Any, Any]:
    if isinstance(maps[0], dict):
        keys = sorted(maps[0])
        stats = {k: _moments([m[k] for m in maps]) for k in keys}
        return {k: s[0] for k, s in stats.items()}, {k: s[1] for k, s in stats.items()}
    stack = np.stack([np.asarray(m, dtype=np.float64) for m in maps])
    return stack.mean(0), stack.std(0)


def stability(
    model: ModelAdapter,
    raw: Any,
    method: str | Explainer,
    params: dict[str, Any] | None = None,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    *,
    target: int | str | None = None,
    progress: Progress | None = None,
) -> Stability:
    """Explain `raw` once per seed; mean/std maps and the mean pairwise Spearman of the K maps."""
    seeds = tuple(int(s) for s in seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise InputError(f"stability needs at least 2 distinct seeds, got {list(seeds)}")
    maps, first = [], None
    for i, s in enumerate(seeds):
        att = run_method(model, raw, method, target, {**(params or {}), "seed": s})
        first = first or att
        maps.append(att.values)
        tick(progress, i + 1, len(seeds))
    rhos = [spearman(maps[i], maps[j]) for i, j in combinations(range(len(maps)), 2)]
    mean_map, std_map = _moments(maps)
    return Stability(
        method=first.method, seeds=seeds, mean_map=mean_map, std_map=std_map,
        mean_pairwise_spearman=float(np.mean(rhos)), min_pairwise_spearman=float(np.min(rhos)),
        stochastic=is_stochastic(method),
        settings={"seeds": list(seeds), "target": first.target, "params": _plain(first.params)},
    )


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON-friendly values (anything else as its repr)."""
    ok = (str, int, float, bool, type(None))
    return {k: v if isinstance(v, ok) else repr(v) for k, v in params.items()}

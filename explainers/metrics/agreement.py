"""Agreement between methods: Spearman rank correlation and top-k overlap matrices."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainers.base import Attribution
from explainers.metrics._common import as_list, flat, spearman
from models.errors import InputError


@dataclass(frozen=True)
class Agreement:
    """spearman[i, j] of signed maps; topk[i, j] = |top-k(i) & top-k(j)| / k by |attribution|."""

    names: tuple[str, ...]
    spearman: np.ndarray  # [m, m], diagonal 1
    topk: np.ndarray  # [m, m], diagonal 1
    k: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names), "spearman": as_list(self.spearman),
            "topk": as_list(self.topk), "k": self.k,
        }


def default_k(n: int) -> int:
    """10% of the units, at least 5 (or all of them when there are fewer)."""
    return min(n, max(5, math.ceil(0.1 * n)))


def _named(attributions: Sequence[Attribution] | Mapping[str, Any]) -> list[tuple[str, np.ndarray]]:
    if isinstance(attributions, Mapping):
        return [(str(k), flat(v)) for k, v in attributions.items()]
    out, seen = [], {}
    for a in attributions:
        seen[a.method] = seen.get(a.method, 0) + 1
        name = a.method if seen[a.method] == 1 else f"{a.method}#{seen[a.method]}"
        out.append((name, flat(a)))
    return out


def _top(v: np.ndarray, k: int) -> set[int]:
    return set(np.argsort(-np.abs(v), kind="stable")[:k].tolist())


def agreement(
    attributions: Sequence[Attribution] | Mapping[str, Any], k: int | None = None
) -> Agreement:
    """Pairwise agreement of several maps of the same input (Attributions or name -> values)."""
    named = _named(attributions)
    if not named:
        raise InputError("agreement needs at least one attribution")
    sizes = {v.size for _, v in named}
    if len(sizes) != 1:
        raise InputError(f"maps of different sizes cannot be compared: {sorted(sizes)}")
    n = sizes.pop()
    k = default_k(n) if k is None else int(k)
    if not 1 <= k <= n:
        raise InputError(f"k must be in 1..{n}, got {k}")
    m = len(named)
    rho, top = np.eye(m), np.eye(m)
    tops = [_top(v, k) for _, v in named]
    for i in range(m):
        for j in range(i + 1, m):
            rho[i, j] = rho[j, i] = spearman(named[i][1], named[j][1])
            top[i, j] = top[j, i] = len(tops[i] & tops[j]) / k
    return Agreement(tuple(name for name, _ in named), rho, top, k)

"""One shard of a data-set job: open inputs, predict, explain in batches, score, write Parquet."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explainers.base import Attribution
from explainers.batching import pick_batch
from explainers.dataset.sources import Item, open_item
from explainers.methods.batch import as_tuple, explain_many
from models.base import ModelAdapter
from models.errors import CancelledError, InputError

CHUNK = 64  # inputs explained between two progress reports
FAITH_STEPS = 10


@dataclass(frozen=True)
class JobSpec:
    """What every shard needs to know (picklable: Ray actors get a copy)."""

    out: str
    methods: tuple[str, ...]
    params: dict[str, dict[str, Any]]
    seed: int = 0
    faithfulness: bool = False


@dataclass
class ShardResult:
    """What a worker reports back for one shard."""

    index: int
    file: str
    n: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    params_used: dict[str, dict[str, Any]] = field(default_factory=dict)


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.parquet"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _open(items: list[Item], model: ModelAdapter) -> tuple[list, list, list]:
    """(good items, raws, preprocessed xs) and the skipped (id, reason)."""
    good, raws, xs, skipped = [], [], [], []
    for it in items:
        try:
            raw = open_item(it.ref)
            x = as_tuple(model.preprocess(raw))
        except (InputError, OSError, ValueError) as exc:
            skipped.append((it.id, _one_line(exc)))
            continue
        good.append(it)
        raws.append(raw)
        xs.append(tuple(t.detach() for t in x))
    return good, raws, xs, skipped


@torch.no_grad()
def probabilities(model: ModelAdapter, xs: list[tuple]) -> np.ndarray:
    """Softmax of the model over inputs (grouped by shape, batched from free memory)."""
    out = [None] * len(xs)
    groups: dict[tuple, list[int]] = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(tuple(t.shape) for t in x), []).append(i)
    with model.lock:
        for idx in groups.values():
            size = pick_batch(model, xs[idx[0]], len(idx), grad=False)
            for s in range(0, len(idx), size):
                part = idx[s: s + size]
                batch = tuple(torch.cat([xs[i][k] for i in part]) for k in range(len(xs[part[0]])))
                p = torch.softmax(model.forward(*batch).float(), dim=-1).cpu().numpy()
                for j, i in enumerate(part):
                    out[i] = p[j]
    return np.stack(out) if out else np.zeros((0, model.info.num_classes))


def faith_score(model: ModelAdapter, raw: Any, a: Attribution, seed: int) -> float:
    """Mean of deletion and insertion gain over random order (explainers.metrics); < 0 is bad."""
    from explainers.metrics.faithfulness import deletion_insertion

    with model.lock:
        c = deletion_insertion(model, raw, a, steps=FAITH_STEPS, seed=seed, n_random=1)
    return float((c.deletion_gain + c.insertion_gain) / 2)


def _columns(rows: dict[str, list], name: str, attrs: list[Attribution]) -> None:
    """attr:<m> (flat float32), shape:<m>, delta:<m>; units:<m> for tokens; fusion split."""
    first = attrs[0].values
    parts = first.keys() if isinstance(first, dict) else [None]
    for part in parts:
        key = f"attr:{name}" + (f":{part}" if part else "")
        vals = [np.asarray(a.values[part] if part else a.values, dtype=np.float32) for a in attrs]
        rows[key] = [v.ravel() for v in vals]
        rows["shape:" + key[5:]] = [list(v.shape) for v in vals]
    units = [a.units.get("text", ()) if isinstance(a.units, dict) else a.units for a in attrs]
    if attrs[0].modality in ("text", "fusion"):
        rows[f"units:{name}"] = [[str(u) for u in us] for us in units]
    if any(a.delta is not None for a in attrs):
        rows[f"delta:{name}"] = [a.delta for a in attrs]


def explain_chunk(model: ModelAdapter, items: list[Item], spec: JobSpec,
                  used: dict[str, dict[str, Any]]) -> tuple[dict[str, list], list]:
    """Rows (column -> values) for a few inputs, and the inputs skipped."""
    good, raws, xs, skipped = _open(items, model)
    if not good:
        return {}, skipped
    probs = probabilities(model, xs)
    preds = probs.argmax(1)
    rows: dict[str, list] = {
        "id": [it.id for it in good], "label": [it.label for it in good],
        "pred": preds.astype(int).tolist(),
        "confidence": probs[np.arange(len(good)), preds].astype(float).tolist(),
        "probs": [p.astype(np.float32) for p in probs]}
    for m in spec.methods:
        attrs = explain_many(model, raws, m, preds.tolist(), xs=xs,
                              **{**spec.params.get(m, {}), "seed": spec.seed})
        used.setdefault(m, dict(attrs[0].params))
        _columns(rows, m, attrs)
        if spec.faithfulness:
            rows[f"faith:{m}"] = [faith_score(model, r, a, spec.seed)
                                  for r, a in zip(raws, attrs, strict=True)]
    return rows, skipped


def write_rows(rows: dict[str, list], path: Path) -> None:
    """Atomically write one shard: a temporary file renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for k, v in rows.items():
        if k.startswith("attr:") or k == "probs":
            arrays[k] = pa.array(v, type=pa.list_(pa.float32()))
        elif k == "label":
            arrays[k] = pa.array(v, type=pa.int64())
        else:
            arrays[k] = pa.array(v)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.table(arrays), tmp)
    os.replace(tmp, path)


def run_shard(model: ModelAdapter, index: int, items: list[Item], spec: JobSpec,
              progress: Callable[[int], Any] | None = None,
              cancel: Callable[[], bool] | None = None) -> ShardResult:
    """Compute and write one shard; progress(n) after each chunk of n inputs."""
    start = time.perf_counter()
    merged: dict[str, list] = {}
    skipped: list[tuple[str, str]] = []
    used: dict[str, dict[str, Any]] = {}
    for s in range(0, len(items), CHUNK):
        if cancel is not None and cancel():
            raise CancelledError(f"cancelled in shard {index}")
        chunk = items[s: s + CHUNK]
        rows, bad = explain_chunk(model, chunk, spec, used)
        skipped += bad
        for k, v in rows.items():
            merged.setdefault(k, []).extend(v)
        if progress is not None:
            progress(len(chunk))
    name = shard_name(index)
    if merged:
        write_rows(merged, Path(spec.out) / name)
    return ShardResult(index, name if merged else "", len(merged.get("id", [])), skipped,
                       time.perf_counter() - start, used)

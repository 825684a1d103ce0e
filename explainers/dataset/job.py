"""run_job(): list the inputs, cut them into shards, resume what is done, run an engine, evaluate."""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explainers.base import get_method
from explainers.dataset import engines, store
from explainers.dataset.compute import JobSpec, ShardResult
from explainers.dataset.engines import model_spec
from explainers.dataset.sources import Item, Listing, list_inputs
from models.base import ModelAdapter
from models.errors import CancelledError, InputError, UnsupportedError

ENGINES = ("local", "ray")


@dataclass
class JobResult:
    """What a finished (or stopped) job did."""

    out: Path
    n_inputs: int
    n_done: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    inputs_per_s: float = 0.0
    engine: str = "local"
    cancelled: bool = False


def check_methods(model: ModelAdapter, methods: list[str], params: dict[str, dict]) -> None:
    """Every method applies to the model and every parameter is known (fail before any work)."""
    if not methods:
        raise InputError("no methods given; e.g. --methods saliency,integrated_gradients")
    for m in methods:
        explainer = get_method(m)
        if not explainer.supports(model):
            raise UnsupportedError(f"{m}: {explainer.why_not(model)}")
        explainer.resolve(params.get(m, {}))
    unknown = sorted(set(params) - set(methods))
    if unknown:
        raise InputError(f"parameters for {unknown[0]!r}, which is not in the methods {methods}")


def job_key(model: ModelAdapter, listing: Listing, items: list[Item], settings: dict) -> str:
    """sha256 of everything that decides the rows: model, inputs, methods, params, seed, shards."""
    h = hashlib.sha256()
    ident = {"model": model.info.sha256 or model.info.name, "data": listing.path, **settings}
    h.update(json.dumps(ident, sort_keys=True, default=str).encode())
    for it in items:
        h.update(f"{it.id}\0{it.label}\n".encode())
    return h.hexdigest()


def _settings(methods: list[str], params: dict, seed: int, limit: int | None,
              shard_size: int, faithfulness: bool) -> dict[str, Any]:
    return {"methods": list(methods), "params": {m: params.get(m, {}) for m in methods},
            "seed": int(seed), "limit": limit, "shard_size": int(shard_size),
            "faithfulness": bool(faithfulness)}


def new_manifest(model: ModelAdapter, listing: Listing, items: list[Item], key: str,
                 settings: dict, shard_size: int) -> dict[str, Any]:
    info = model.info
    shards = [{"index": i, "file": "", "n_inputs": len(items[s: s + shard_size]),
               "status": "pending"} for i, s in enumerate(range(0, len(items), shard_size))]
    return {
        "format": store.FORMAT, "key": key,
        "model": {"name": info.name, "source": model_spec(model), "sha256": info.sha256,
                  "modality": info.modality, "class_names": list(info.class_names),
                  "feature_names": list(info.feature_names)},
        "data": {"path": listing.path, "kind": listing.kind, "n_listed": len(listing.items)},
        **settings, "params_used": {}, "n_inputs": len(items), "shards": shards,
        "skipped_listing": [list(s) for s in listing.skipped], "skipped": [],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": [],
    }


def open_manifest(out: Path, fresh: dict[str, Any]) -> dict[str, Any]:
    """The existing manifest when it is this same job (resume), else the fresh one."""
    path = out / store.MANIFEST
    if path.is_file():
        old = store.read_manifest(out)
        if old.get("key") != fresh["key"]:
            raise InputError(f"--out {str(out)!r} holds a different job (other model, data, "
                             "methods, parameters, seed, limit or shard size); use another "
                             "--out or delete it")
        for s in old["shards"]:  # a shard whose file was lost is computed again
            if s["status"] == "done" and s["file"] and not (out / s["file"]).is_file():
                s["status"] = "pending"
        return old
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out {str(out)!r} is a non-empty folder without a {store.MANIFEST}")
    out.mkdir(parents=True, exist_ok=True)
    return fresh


def record(manifest: dict[str, Any], res: ShardResult) -> None:
    """Mark one shard done in the manifest (with its skipped inputs and the params used)."""
    shard = manifest["shards"][res.index]
    shard.update(status="done", file=res.file, n_rows=res.n, seconds=round(res.seconds, 3),
                 skipped=[list(s) for s in res.skipped])
    for m, p in res.params_used.items():
        manifest["params_used"].setdefault(m, p)


def all_skipped(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    out = [tuple(s) for s in manifest.get("skipped_listing", [])]
    for shard in manifest["shards"]:
        out += [tuple(s) for s in shard.get("skipped", [])]
    return out


def _engine(engine: str) -> Callable[..., None]:
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; allowed: {list(ENGINES)}")
    return engines.run_local if engine == "local" else engines.run_ray


def run_job(model: ModelAdapter | str | Path, data: str | Path, methods: list[str] | str,
            out: str | Path, *, engine: str = "local", address: str | None = None,
            workers: int = 1, limit: int | None = None, seed: int = 0, shard_size: int = 256,
            params: dict[str, dict[str, Any]] | None = None, faithfulness: bool = False,
            progress: Callable[[int, int], Any] | None = None,
            cancel: Callable[[], bool] | None = None) -> JobResult:
    """Explain (and, with labels, evaluate) a whole data set into the job folder `out`."""
    from models import load_model

    run = _engine(engine)
    adapter = load_model(model) if isinstance(model, str | Path) else model
    methods = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    params = {m: dict(p) for m, p in (params or {}).items()}
    _check_numbers(workers, limit, shard_size)
    check_methods(adapter, methods, params)
    listing = list_inputs(data, adapter, seed)
    items = listing.items[:limit] if limit is not None else listing.items
    if not items:
        raise InputError(f"--data {str(data)!r}: none of its {len(listing.skipped)} inputs can "
                         f"be used; first: {_first(listing.skipped)}")
    settings = _settings(methods, params, seed, limit, shard_size, faithfulness)
    out = Path(out)
    key = job_key(adapter, listing, items, settings)
    manifest = open_manifest(out, new_manifest(adapter, listing, items, key, settings, shard_size))
    spec = JobSpec(str(out), tuple(methods), settings["params"], int(seed), bool(faithfulness))
    pending = [(s["index"], items[s["index"] * shard_size: (s["index"] + 1) * shard_size])
               for s in manifest["shards"] if s["status"] != "done"]
    return _execute(run, adapter, manifest, spec, pending, engine, address, workers, progress,
                    cancel)


def _check_numbers(workers: int, limit: int | None, shard_size: int) -> None:
    if int(workers) < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if limit is not None and int(limit) < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    if int(shard_size) < 1:
        raise InputError(f"--shard-size must be at least 1, got {shard_size}")


def _first(skipped: list[tuple[str, str]]) -> str:
    return f"{skipped[0][0]}: {skipped[0][1]}" if skipped else "none listed"


def _execute(run: Callable[..., None], model: ModelAdapter, manifest: dict, spec: JobSpec,
             pending: list, engine: str, address: str | None, workers: int,
             progress: Callable[[int, int], Any] | None,
             cancel: Callable[[], bool] | None) -> JobResult:
    out = Path(spec.out)
    total = manifest["n_inputs"]
    done = [total - sum(len(items) for _, items in pending)]
    start = time.perf_counter()

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(min(done[0], total), total)

    def on_done(res: ShardResult) -> None:
        record(manifest, res)
        store.write_json(out / store.MANIFEST, manifest)

    store.write_json(out / store.MANIFEST, manifest)
    tick(0)
    cancelled = False
    try:
        run(model=model, pending=pending, spec=spec, on_done=on_done, tick=tick, cancel=cancel,
            workers=int(workers), address=address)
    except CancelledError:
        cancelled = True
    seconds = time.perf_counter() - start
    n_new = sum(s["n_inputs"] for s in manifest["shards"] if s["status"] == "done") - \
        (total - sum(len(items) for _, items in pending))
    return _finish(out, model, manifest, engine, workers, address, seconds, n_new, cancelled)


def _finish(out: Path, model: ModelAdapter, manifest: dict, engine: str, workers: int,
            address: str | None, seconds: float, n_new: int, cancelled: bool) -> JobResult:
    """Manifest totals, metrics.json and predictions.csv; the JobResult."""
    from explainers.dataset.metrics import metrics_for

    shards = manifest["shards"]
    n_done = sum(s["n_inputs"] for s in shards if s["status"] == "done")
    skipped = all_skipped(manifest)
    rate = n_new / seconds if seconds > 0 else 0.0
    manifest.update(engine=engine, workers=workers, address=address, n_done=n_done,
                    n_rows=sum(s.get("n_rows", 0) for s in shards if s["status"] == "done"),
                    skipped=[list(s) for s in skipped], complete=n_done == manifest["n_inputs"])
    manifest["runs"].append({"engine": engine, "workers": workers, "inputs": n_new,
                             "seconds": round(seconds, 3), "inputs_per_s": round(rate, 2),
                             "cancelled": cancelled, "device": str(model.device),
                             "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    store.write_json(out / store.MANIFEST, manifest)
    df = store.load(out)
    if len(df):
        cols = [c for c in ("id", "label", "pred", "confidence") if c in df.columns]
        table = df[cols].copy()
        names = manifest["model"]["class_names"]
        table["pred_name"] = [names[int(p)] for p in table["pred"]]
        table.to_csv(out / store.PREDICTIONS, index=False)
    metrics = metrics_for(df, manifest["model"]["class_names"]) if len(df) else None
    if metrics is not None:
        store.write_json(out / store.METRICS, metrics)
    return JobResult(out, manifest["n_inputs"], n_done, skipped, seconds, rate, engine, cancelled)

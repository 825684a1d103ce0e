"""Engines: shards in this process (local), or on Ray actors, one model copy per worker (ray)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explainers.dataset.compute import JobSpec, ShardResult, run_shard
from explainers.dataset.sources import Item
from models.base import ModelAdapter
from models.errors import CancelledError, InputError

ROOT = Path(__file__).resolve().parents[2]  # the repository: workers import explainers, models


def model_spec(model: ModelAdapter | str | Path) -> str:
    """What a worker passes to load_model: the built-in name or the path it came from."""
    if isinstance(model, str | Path):
        return str(model)
    return model.info.name if model.info.source == "builtin" else str(model.info.source)


def run_local(*, model: ModelAdapter, pending: list[tuple[int, list[Item]]], spec: JobSpec,
              on_done: Callable[[ShardResult], None], tick: Callable[[int], None],
              cancel: Callable[[], bool] | None = None, **_: Any) -> None:
    """Every pending shard in turn, in this process."""
    for index, items in pending:
        on_done(run_shard(model, index, items, spec, progress=tick, cancel=cancel))


class ShardWorker:
    """A Ray actor: loads the model once, then computes shards sent to it."""

    def __init__(self, model: str, device: str | None = None):
        import torch

        from models import load_model

        torch.set_num_threads(max(1, int(os.environ.get("GLASSBOX_WORKER_THREADS", "1"))))
        self.model = load_model(model, device=device)

    def device(self) -> str:
        return str(self.model.device)

    def shard(self, index: int, items: list[Item], spec: JobSpec) -> ShardResult:
        return run_shard(self.model, index, items, spec)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install -r requirements-ray.txt") from None
    return ray


def start_ray(address: str | None, workers: int) -> tuple[Any, bool]:
    """Join a cluster at `address`, or start a local Ray with `workers` CPUs (no dashboard);
    a Ray the caller already started is used as it is. Returns (ray, started here)."""
    ray = _ray()
    if ray.is_initialized():
        return ray, False
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "GLASSBOX_WORKER_THREADS": os.environ.get("GLASSBOX_WORKER_THREADS", "1")}}
    if address:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 runtime_env=env, _node_ip_address="127.0.0.1")  # a local Ray: loopback only
    return ray, True


def make_actors(ray: Any, model: str, workers: int) -> list[Any]:
    """One actor per worker; on a cluster with GPUs one actor per GPU, each holding one (Ray
    sets its CUDA_VISIBLE_DEVICES), whatever `workers` says: a GPU actor takes no CPU slot, so
    a local Ray started with `workers` CPUs still places all of them."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    opts = {"num_gpus": 1, "num_cpus": 0} if gpus else {"num_cpus": 1}
    n = gpus if gpus else workers
    cls = ray.remote(**opts)(ShardWorker)
    return [cls.remote(model) for _ in range(max(1, n))]


def run_ray(*, model: ModelAdapter, pending: list[tuple[int, list[Item]]], spec: JobSpec,
            on_done: Callable[[ShardResult], None], tick: Callable[[int], None],
            cancel: Callable[[], bool] | None = None, workers: int = 1,
            address: str | None = None, **_: Any) -> None:
    """Shards dispatched to Ray actors with ray.util.ActorPool, recorded as they finish."""
    ray, started = start_ray(address, workers)
    from ray.util import ActorPool

    actors = make_actors(ray, model_spec(model), workers)
    sizes = {index: len(items) for index, items in pending}
    pool = ActorPool(actors)
    try:
        for res in pool.map_unordered(lambda a, job: a.shard.remote(job[0], job[1], spec),
                                      pending):
            on_done(res)
            tick(sizes[res.index])
            if cancel is not None and cancel():
                raise CancelledError("cancelled between shards")
    finally:
        for a in actors:
            ray.kill(a)
        if started:
            ray.shutdown()

"""Benchmark: data-set job throughput, per-input explain() loop vs batching, local vs Ray workers.

Run: `.venv/bin/python bench/bench_dataset.py [--n 1000] [--methods saliency,integrated_gradients]
[--workers 1,2] [--no-ray]`. One run on mnist-cnn's 1,000 held-out digits; prints a Markdown
table of inputs/s and the ratios. "explain() loop" calls explain() once per input (target = the
predicted class, as the job does); "batched" is explainers.methods.batch.explain_many alone
(no I/O); "job" rows are run_job end to end (listing, predictions, Parquet shards, metrics), Ray rows including starting
Ray and one model copy per worker (that start-up is also timed on its own).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explainers import dataset, explain  # noqa: E402
from explainers.methods.batch import explain_many  # noqa: E402
from models import load_model  # noqa: E402

SHARD = 125  # 8 shards over 1,000 inputs: both Ray workers stay busy to the end


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def loop_vs_batched(model, raws: list, method: str) -> list[dict]:
    """The per-input explain() loop and explain_many on the same inputs (and their max gap)."""
    explain(model, raws[0], method)  # warm-up (imports, node cache, per-sample memory probe)
    t_loop, singles = timed(lambda: [explain(model, r, method) for r in raws])
    targets = [a.target for a in singles]
    t_batch, batched = timed(lambda: explain_many(model, raws, method, targets))
    gap = max(float(np.abs(a.values - b.values).max()) for a, b in zip(singles, batched,
                                                                      strict=True))
    n = len(raws)
    return [{"method": method, "how": "explain() loop", "workers": 1, "s": t_loop, "n": n},
            {"method": method, "how": "batched (explain_many)", "workers": 1, "s": t_batch,
             "n": n, "gap": gap}]


def job(model, method: str, n: int, engine: str, workers: int, tmp: Path) -> dict:
    out = tmp / f"{method}-{engine}-{workers}"
    target = model if engine == "local" else "mnist-cnn"
    s, res = timed(lambda: dataset.run_job(target, "builtin", [method], out, engine=engine,
                                           workers=workers, limit=n, shard_size=SHARD))
    assert res.n_done == n, res
    how = "job, local engine" if engine == "local" else "job, Ray"
    return {"method": method, "how": how, "workers": workers, "s": s, "n": n,
            "compute_s": res.seconds}


def ray_startup(workers: int) -> float:
    """Seconds to start a local Ray and have `workers` actors each holding the model."""
    from explainers.dataset.engines import make_actors, start_ray

    t = time.perf_counter()
    ray, started = start_ray(None, workers)
    actors = make_actors(ray, "mnist-cnn", workers)
    ray.get([a.device.remote() for a in actors])
    s = time.perf_counter() - t
    for a in actors:
        ray.kill(a)
    if started:
        ray.shutdown()
    return s


def table(rows: list[dict], startups: dict[int, float]) -> str:
    lines = ["| method | how | workers | inputs | seconds | inputs/s | vs explain() loop |",
             "|---|---|---|---|---|---|---|"]
    loop = {r["method"]: r["n"] / r["s"] for r in rows if r["how"] == "explain() loop"}
    for r in rows:
        rate = r["n"] / r["s"]
        lines.append(f"| {r['method']} | {r['how']} | {r['workers']} | {r['n']} | {r['s']:.1f} "
                     f"| {rate:.1f} | {rate / loop[r['method']]:.2f}x |")
    for w, s in sorted(startups.items()):
        lines.append(f"\nRay start-up with {w} worker(s) (ray.init + actors loading the model): "
                     f"{s:.1f} s")
    return "\n".join(lines)


def ratios(rows: list[dict]) -> list[str]:
    out = []
    by = {(r["method"], r["how"], r["workers"]): r["n"] / r["s"] for r in rows}
    for m in sorted({r["method"] for r in rows}):
        if (m, "job, Ray", 2) in by and (m, "job, Ray", 1) in by:
            out.append(f"{m}: Ray 2 workers / 1 worker = "
                       f"{by[(m, 'job, Ray', 2)] / by[(m, 'job, Ray', 1)]:.2f}x")
        if (m, "job, Ray", 2) in by:
            out.append(f"{m}: Ray 2 workers / local job = "
                       f"{by[(m, 'job, Ray', 2)] / by[(m, 'job, local engine', 1)]:.2f}x")
    gaps = [f"{r['method']} {r['gap']:.1e}" for r in rows if "gap" in r]
    out.append("max |batched - explain()| over all inputs: " + ", ".join(gaps))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--methods", default="saliency,integrated_gradients")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch threads here (Ray workers: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)  # 2 threads on 2 shared, busy cores: 30x slower forwards
    load_before = os.getloadavg()[0]
    model = load_model("mnist-cnn")
    raws = [r for r, _ in model.samples(args.n)]
    workers = [int(w) for w in args.workers.split(",")] if not args.no_ray else []
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.methods.split(","):
            rows += loop_vs_batched(model, raws, m)
            rows.append(job(model, m, args.n, "local", 1, Path(tmp)))
            rows += [job(model, m, args.n, "ray", w, Path(tmp)) for w in workers]
    startups = {w: ray_startup(w) for w in workers}
    print(f"mnist-cnn, {args.n} inputs, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads "
          f"in this process, 1 per Ray worker), load average {os.getloadavg()[0]:.1f}\n")
    print(f"load average (1 min) at start {load_before:.1f}\n")
    print(table(rows, startups))
    print("\n" + "\n".join(ratios(rows)))


if __name__ == "__main__":
    main()

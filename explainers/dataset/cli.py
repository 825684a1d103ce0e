"""`python -m explainers dataset ...`: the command-line face of run_job (progress on stderr)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2

HELP = (
    "Explain (and, when labels are known, evaluate) a whole data set: a folder of images "
    "(class-named subfolders, or unlabelled) or a .zip of one, a .csv (tabular: feature columns "
    "[+ label]; text: a 'text' column [+ label]; fusion: 'image' path + 'text' [+ label]), a .txt "
    "with one text per line, or 'builtin' (the model's bundled held-out split). Writes Parquet "
    "shards, manifest.json, predictions.csv and metrics.json into --out; run the same command "
    "again to finish a stopped job. Exit codes: 0 ok, 2 bad data or arguments (one line; good "
    "inputs are still written and the skipped ones listed in manifest.json), 1 unexpected error."
)


def add_parser(sub: Any) -> None:
    d = sub.add_parser("dataset", help="explain and evaluate a whole data set", description=HELP)
    d.add_argument("--model", required=True, help="built-in model name or path to a model")
    d.add_argument("--data", required=True, help="folder, .zip, .csv, .txt or 'builtin'")
    d.add_argument("--methods", required=True, help="comma-separated method keys")
    d.add_argument("--out", required=True, help="job folder (created; reused to resume)")
    d.add_argument("--engine", default="local", choices=("local", "ray"))
    d.add_argument("--address", default=None, help="Ray cluster address (default: start one)")
    d.add_argument("--workers", type=int, default=1, help="Ray workers (one model copy each); with GPUs: one per GPU")
    d.add_argument("--limit", type=int, default=None, help="only the first N inputs")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--shard-size", type=int, default=256, help="inputs per Parquet shard")
    d.add_argument("--faithfulness", action="store_true",
                   help="also score each explanation (deletion/insertion gain over random)")
    d.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE",
                   help="a method parameter, e.g. integrated_gradients.n_steps=32 (repeatable)")
    d.add_argument("--device", default=None, help="local engine: cpu, cuda, cuda:1")
    d.add_argument("--debug", action="store_true", help="show tracebacks")


def command(args: argparse.Namespace, parse_params: Callable[..., dict]) -> int:
    """Run the job with a tqdm bar (inputs/s); exit 2 naming the skipped inputs, if any.
    parse_params is explainers.cli's --param parser (passed in: no import back up)."""
    from tqdm import tqdm

    from explainers.dataset.job import run_job
    from models import load_model

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    params = {m: p for m, p in parse_params(args.param, methods).items() if p}
    model = load_model(args.model, device=args.device)
    bars: list[Any] = []  # made on the first report: an error before any work stays one line

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="input", file=sys.stderr, dynamic_ncols=True,
                             desc="explaining"))
        bars[0].total = total
        bars[0].update(done - bars[0].n)

    try:
        res = run_job(model, args.data, methods, args.out, engine=args.engine,
                      address=args.address, workers=args.workers, limit=args.limit,
                      seed=args.seed, shard_size=args.shard_size, params=params,
                      faithfulness=args.faithfulness, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    print(f"{res.n_done} of {res.n_inputs} inputs done, {len(res.skipped)} skipped, in {res.out} "
          f"({res.inputs_per_s:.1f} "
          f"inputs/s, engine {res.engine})", file=sys.stderr)
    if res.skipped:
        first = "; ".join(f"{i}: {why}" for i, why in res.skipped[:3])
        print(f"error: skipped {len(res.skipped)} input(s) (listed in {res.out}/manifest.json): "
              f"{first}{' ...' if len(res.skipped) > 3 else ''}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK

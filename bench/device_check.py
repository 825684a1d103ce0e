"""Device check: every method on every built-in on CUDA and on CPU, compared, timed; one table.

Run: `.venv/bin/python bench/device_check.py [--quick] [--models a,b] [--methods m,n]`.
Each row times one explain() call (after a warm-up) on the CPU and, when CUDA is there, on the
GPU, shows the batch each picked from its free memory (/proc/meminfo on the CPU,
torch.cuda.mem_get_info on the GPU) and checks that the GPU numbers agree with the CPU ones:
relative L2 <= 1e-3 for deterministic methods (fp32 both sides, TF32 off); the same or
Spearman >= 0.8 for stochastic methods at a fixed seed (where a device draws its own random
numbers). Extra rows: an out-of-memory forced during IG (torch.cuda.set_per_process_memory_fraction
on the GPU; a simulated allocator OOM on the CPU) must be survived by the halving retry with the
same numbers (relative L2 <= 1e-5); IG split over two CPU stand-ins (explainers.devices) equals
one device; the transformers in bf16 (and fp16 on the GPU) against fp32 (Spearman >= 0.8).
Without CUDA it runs the CPU half, says so, and exits 0 when every check it ran passed.
`--quick` (CI): three small models, four methods, small steps.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import device_cases as dc  # noqa: E402

from explainers import list_methods  # noqa: E402
from explainers.batching import available_bytes, pick_batch  # noqa: E402
from models import list_models, load_model  # noqa: E402
from models.memory import human  # noqa: E402

QUICK_MODELS = ("mnist-cnn", "breast-cancer-mlp", "sentiment-bag")
QUICK_METHODS = ("saliency", "integrated_gradients", "occlusion", "kernel_shap")
NO_CUDA = "CUDA was not available: GPU half not run"


def batch_row(name: str, cpu, gpu, raw) -> dc.Row:
    """The batch pick_batch chooses for 1,000 IG steps from each device's free memory."""
    x = cpu.preprocess(raw)
    x = x if isinstance(x, tuple) else (x,)
    row = dc.Row(name, "batch for 1000 IG steps (free memory)")
    row.batch_cpu = f"{pick_batch(cpu, x, 1000)} ({human(available_bytes(cpu.device))} free)"
    if gpu is not None:
        xg = tuple(t.to(gpu.device) for t in x)
        free = torch.cuda.mem_get_info(gpu.device)[0]
        row.batch_cuda = f"{pick_batch(gpu, xg, 1000)} ({human(free)} free)"
    return row


def one_method(name: str, method: str, cpu, gpu, raw, target, quick: bool) -> dc.Row:
    kw = dc.params(cpu, method, quick)
    row = dc.Row(name, method)
    try:
        a, row.cpu_s = dc.timed(cpu, raw, method, kw, target)
        row.batch_cpu = a.extras.get("batch_size", "-")
        if gpu is not None:
            b, row.cuda_s = dc.timed(gpu, raw, method, kw, target)
            row.batch_cuda = b.extras.get("batch_size", "-")
            row.check, row.ok = dc.agree(method, b, a)
    except Exception as exc:  # noqa: BLE001  (a row says what failed; the check goes on)
        row.check, row.ok = f"error: {' '.join(str(exc).split())[:70]}", False
    return row


def model_rows(name: str, methods: tuple[str, ...] | None, cuda: bool, quick: bool
               ) -> list[dc.Row]:
    cpu = load_model(name, device="cpu")
    gpu = load_model(name, device="cuda") if cuda else None
    raw = dc.raw_input(cpu)
    target = dc.target_of(cpu, raw)
    rows = [batch_row(name, cpu, gpu, raw)]
    for method in list_methods(cpu):
        if methods is None or method in methods:
            rows.append(one_method(name, method, cpu, gpu, raw, target, quick))
    return rows


def guarded(name: str, case: str, make) -> list[dc.Row]:
    """make() -> rows; an exception becomes one failed row instead of ending the check."""
    try:
        out = make()
    except Exception as exc:  # noqa: BLE001
        return [dc.Row(name, case, check=f"error: {' '.join(str(exc).split())[:70]}", ok=False)]
    return out if isinstance(out, list) else [out]


def extra_rows(names: list[str], cuda: bool, quick: bool) -> list[dc.Row]:
    """Forced OOM (simulated on the CPU, real on the GPU), the stand-in split, half precision."""
    big = "imagenet-efficientnet" if "imagenet-efficientnet" in names and not quick else "mnist-cnn"
    tab = "breast-cancer-mlp"

    def oom(device: str):
        m = load_model(big, device=device)
        return dc.oom_row(big, m, dc.raw_input(m), real=device == "cuda")

    def split(device: str, over: list[str]):
        m = load_model(tab, device=device)
        return dc.split_row(tab, m, dc.raw_input(m), quick, over)

    rows = guarded(big, "OOM retry, simulated OOM", lambda: oom("cpu"))
    if cuda:
        rows += guarded(big, "OOM retry, set_per_process_memory_fraction", lambda: oom("cuda"))
    rows += guarded(tab, "IG split over 2 CPU stand-ins", lambda: split("cpu", ["cpu"] * 2))
    if cuda and torch.cuda.device_count() > 1:
        gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        rows += guarded(tab, f"IG split over {len(gpus)} GPUs", lambda: split("cuda", gpus))
    for name in (n for n in dc.TRANSFORMERS if n in names and not quick):
        for device in ("cpu", "cuda") if cuda else ("cpu",):
            rows += guarded(name, f"half precision on {device}",
                            lambda d=device, n=name: dc.half_rows(n, d, quick))
    return rows


def seconds(s: float | None) -> str:
    return "-" if s is None else f"{s:.3f}"


def table(rows: list[dc.Row]) -> str:
    out = ["| model | case | CPU s | CUDA s | CPU/CUDA | batch CPU | batch CUDA | check | ok |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r.cpu_s / r.cuda_s:.1f}x" if r.cpu_s and r.cuda_s else "-"
        ok = {True: "yes", False: "NO", None: "-"}[r.ok]
        out.append(f"| {r.model} | {r.case} | {seconds(r.cpu_s)} | {seconds(r.cuda_s)} | "
                   f"{ratio} | {r.batch_cpu} | {r.batch_cuda} | {r.check} | {ok} |")
    return "\n".join(out)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI: 3 small models, 4 methods")
    p.add_argument("--models", default="", help="comma list (default: every built-in)")
    p.add_argument("--methods", default="", help="comma list (default: every method)")
    p.add_argument("--cpu-only", action="store_true", help="skip the GPU half even with CUDA")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    warnings.filterwarnings("ignore")  # Captum/SHAP advice on small sample counts: not the point
    start = time.perf_counter()
    cuda = torch.cuda.is_available() and not args.cpu_only
    if cuda:  # fp32 on both sides: the comparison is of devices, not of TF32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    names = [n for n in args.models.split(",") if n] or (
        list(QUICK_MODELS) if args.quick else list_models())
    methods = tuple(m for m in args.methods.split(",") if m) or (
        QUICK_METHODS if args.quick else None)
    rows = [r for n in names for r in model_rows(n, methods, cuda, args.quick)]
    rows += extra_rows(names, cuda, args.quick)
    gpu = torch.cuda.get_device_name(0) if cuda else "none"
    print(f"device check ({'quick' if args.quick else 'full'}): torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"GPU: {gpu}")
    print(table(rows))
    failed = [r for r in rows if r.ok is False]
    checked = sum(r.ok is not None for r in rows)
    print(f"{len(rows)} rows, {checked - len(failed)}/{checked} checks passed, "
          f"{time.perf_counter() - start:.0f} s")
    if not cuda:
        print(NO_CUDA)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

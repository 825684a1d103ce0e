"""`python -m models.train NAME`: rebuild a built-in model's shipped files and print its accuracy."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

# name -> "module:function"; the function takes seed= and returns the written model card
TRAINERS: dict[str, str] = {
    "breast-cancer-mlp": "models.builtin.tabular:train",
    "mnist-cnn": "models.builtin.mnist_train:train",
    "imagenet-efficientnet": "models.builtin.efficientnet:train",
    "sentiment-bag": "models.builtin.bag:train",
    "sentiment-minilm": "models.builtin.minilm_train:train",
    "digit-text-fusion": "models.builtin.fusion_train:train",
    "review-gpt": "models.builtin.review_gpt_train:train",
}


def trainer(name: str) -> Callable[..., dict[str, Any]]:
    """The training function registered for a built-in model name."""
    from models.errors import UnknownNameError

    if name not in TRAINERS:
        raise UnknownNameError(f"no trainer for {name!r}; use one of {', '.join(TRAINERS)}")
    module, func = TRAINERS[name].split(":")
    return getattr(importlib.import_module(module), func)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__)
    parser.add_argument("name", choices=sorted(TRAINERS), help="built-in model to rebuild")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    card = trainer(args.name)(seed=args.seed)
    acc = card.get("heldout_accuracy")
    split = card.get("split", {})
    ppl = card.get("heldout_perplexity")
    if acc is not None:
        print(f"{args.name}: held-out accuracy {acc:.4f} on {split.get('held_out')} examples")
    elif ppl is not None:
        print(f"{args.name}: held-out perplexity {ppl:.2f} (unigram baseline "
              f"{card['unigram_perplexity']:.2f}) on {split.get('held_out')} snippets")
    else:
        print(f"{args.name}: {card.get('note', 'done')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

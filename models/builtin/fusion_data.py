"""Data for digit-text-fusion: MNIST digits (clean, noisy or blank) + generated phrases."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Phrasings are split: the training templates are never used in the held-out set and vice versa.
TRAIN_TEMPLATES = {
    "names": ("a handwritten {w}", "definitely the number {w}", "the digit {w}", "this is a {w}",
              "{w}", "number {w}", "it shows a {w}", "a {w} written by hand", "clearly a {w}",
              "looks like a {w}", "the number is {w}", "a {w}"),
    "negates": ("this is not a {w}", "not a {w}", "definitely not the number {w}",
                "it is not a {w}", "not the digit {w}"),
    "vague": ("something", "a digit", "a handwritten digit", "some number", "", "what is this",
              "guess the number", "an image", "a number written by hand", "it is a digit"),
}
TEST_TEMPLATES = {
    "names": ("i think it is a {w}", "surely the number {w}", "a {w} drawn by someone",
              "the written digit {w}", "probably a {w}", "my guess is {w}", "it is the digit {w}"),
    "negates": ("this is certainly not a {w}", "no it is not the digit {w}"),
    "vague": ("anything", "a picture", "some handwritten number", "tell me", "a number",
              "what digit is this"),
}
# image condition -> (probability, {text kind: probability}); "misleads" names a wrong digit
CONDITIONS = {
    "clean": (0.45, {"names": 0.35, "vague": 0.30, "negates": 0.15, "misleads": 0.20}),
    "noisy": (0.25, {"names": 0.60, "vague": 0.40}),
    "blank": (0.30, {"names": 0.88, "vague": 0.12}),  # blank + vague has no answer: uniform target
}


@dataclass(frozen=True)
class Examples:
    """Generated (image, phrase) pairs; `known` is False where no answer exists (trained as uniform)."""

    images: np.ndarray  # uint8 [N, 28, 28]
    texts: list[str]
    labels: np.ndarray  # int64 [N], the digit shown / named
    known: np.ndarray  # bool [N]
    conditions: list[str]  # "clean/names", "noisy/vague", ...
PER_DIGIT = 2  # draws per digit in the held-out set (and per epoch in training)


def _phrase(kind: str, digit: int, templates: dict, rng: np.random.Generator) -> str:
    if kind == "misleads":
        kind, digit = "names", (digit + int(rng.integers(1, 10))) % 10
    elif kind == "negates":
        digit = (digit + int(rng.integers(1, 10))) % 10  # a true statement about another digit
    template = templates[kind][int(rng.integers(len(templates[kind])))]
    word = WORDS[digit] if rng.random() < 0.6 else str(digit)
    return template.format(w=word)


def _corrupt(img: np.ndarray, condition: str, rng: np.random.Generator, shift: bool) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    if shift:
        x = np.roll(x, tuple(rng.integers(-2, 3, size=2)), axis=(0, 1))
    if condition == "noisy":
        x = x * rng.uniform(0.5, 1.0) + rng.normal(0, rng.uniform(0.15, 0.4), x.shape)
        if rng.random() < 0.5:  # occlude a band of rows or columns
            start, width = int(rng.integers(4, 16)), int(rng.integers(5, 9))
            band = (slice(start, start + width), slice(None))
            x[band if rng.random() < 0.5 else band[::-1]] = 0.0
    elif condition == "blank":
        x = np.zeros_like(x) if rng.random() < 0.4 else rng.normal(0, rng.uniform(0.1, 0.4), x.shape)
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def _pick(table: dict[str, float], rng: np.random.Generator) -> str:
    keys = list(table)
    return keys[int(rng.choice(len(keys), p=np.array([table[k] for k in keys])))]


def make_examples(images: np.ndarray, labels: np.ndarray, templates: dict, seed: int,
                  per_digit: int = 1, shift: bool = False) -> Examples:
    """per_digit random (condition, phrase) draws for every digit image, reproducible from seed."""
    rng = np.random.default_rng(seed)
    out_img, texts, out_y, known, conds = [], [], [], [], []
    for img, y in zip(np.repeat(images, per_digit, 0), np.repeat(labels, per_digit), strict=True):
        cond = _pick({k: v[0] for k, v in CONDITIONS.items()}, rng)
        kind = _pick(CONDITIONS[cond][1], rng)
        out_img.append(_corrupt(img, cond, rng, shift))
        texts.append(_phrase(kind, int(y), templates, rng))
        out_y.append(int(y))
        known.append(not (cond == "blank" and kind == "vague"))
        conds.append(f"{cond}/{kind}")
    return Examples(np.stack(out_img), texts, np.array(out_y, dtype=np.int64),
                    np.array(known), conds)


@functools.cache
def heldout_examples(seed: int = 0) -> Examples:
    """The held-out set: the 1,000 held-out digits x 2 draws, held-out phrasings, answerable only."""
    from models.data import mnist

    s = mnist()
    ex = make_examples(s.x_test, s.y_test, TEST_TEMPLATES, seed=10_000 + seed, per_digit=PER_DIGIT)
    keep = np.flatnonzero(ex.known)
    return Examples(ex.images[keep], [ex.texts[i] for i in keep], ex.labels[keep],
                    ex.known[keep], [ex.conditions[i] for i in keep])

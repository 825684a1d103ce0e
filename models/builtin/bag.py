"""sentiment-bag: Embedding -> average pooling -> Dense 24 ReLU -> 2 classes, own vocabulary."""
from __future__ import annotations

import json
import re
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from models.base import BaseAdapter, ModelInfo, sha256_of
from models.builtin import text_common
from models.builtin.common import LABELS, WEIGHTS, asset, load_card, save_card
from models.errors import InputError
from models.registry import register

NAME = "sentiment-bag"
WEIGHTS_FILE = WEIGHTS / f"{NAME}.safetensors"
VOCAB_FILE = LABELS / f"{NAME}-vocab.json"
PAD, UNK = "[PAD]", "[UNK]"
MAX_TOKENS = 256
EMBED_DIM, EPOCHS, MIN_COUNT = 16, 4, 2  # epochs chosen on a validation carve of train
TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")


def tokenize(text: str) -> list[str]:
    """Lowercase words (with inner apostrophes) plus ! and ?; everything else is dropped."""
    return TOKEN_RE.findall(text.lower())[:MAX_TOKENS]


class BagOfEmbeddings(nn.Module):
    """ids [B, T] -> mean of the non-PAD token embeddings -> Dense 24 ReLU -> logits [B, 2]."""

    def __init__(self, vocab_size: int, dim: int = EMBED_DIM, n_classes: int = 2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.fc1 = nn.Linear(dim, 24)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(24, n_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(ids)  # PAD rows are zero, so a [PAD] baseline embeds to zero
        count = (ids != 0).sum(1, keepdim=True).clamp(min=1).to(emb.dtype)
        return self.fc2(self.relu(self.fc1(emb.sum(1) / count)))


class BagAdapter(BaseAdapter):
    """Text model; preprocess(str) -> ids [1, T], one id per word (no special tokens)."""

    pad_token_id = 0
    mask_token_id = None
    max_tokens = MAX_TOKENS

    def __init__(self, module: BagOfEmbeddings, vocab: list[str], info: ModelInfo,
                 device: str | None = None):
        super().__init__(module, info, device)
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}
        self.embedding_layer = self.module.embedding

    def _words(self, raw: Any) -> list[str]:
        words = tokenize(text_common.check_text(raw))
        if not words:
            raise InputError(
                f"no words found in {raw[:60]!r}; the model reads letters and digits"
            )
        return words

    def preprocess(self, raw: Any) -> torch.Tensor:
        ids = [self.index.get(w, 1) for w in self._words(raw)]
        return torch.tensor([ids], dtype=torch.long, device=self.device)

    def text_end(self, text: str) -> int:
        """Characters up to the end of the MAX_TOKENS-th word (HasTextLimit)."""
        for i, match in enumerate(TOKEN_RE.finditer(text.lower())):
            if i == MAX_TOKENS - 1:
                return match.end()
        return len(text)

    def tokens(self, raw: Any) -> tuple[str, ...]:
        """The words the model sees; out-of-vocabulary words are shown as themselves."""
        return tuple(self._words(raw))

    def word_ids(self, raw: Any) -> list[int | None]:
        return list(range(len(self._words(raw))))

    def samples(self, n: int | None = None, seed: int = 0) -> list[tuple[Any, int]]:
        return text_common.samples(n, seed)


def _info(sha: str = "") -> ModelInfo:
    return ModelInfo(
        name=NAME, modality="text", class_names=text_common.CLASS_NAMES,
        description="Averaged word embeddings + dense layer, trained on Rotten Tomatoes snippets.",
        card=load_card(NAME), sha256=sha,
    )


@register(NAME)
def load(device: str | None = None) -> BagAdapter:
    from safetensors.torch import load_file

    path, vocab_path = asset(WEIGHTS_FILE), asset(VOCAB_FILE)
    vocab = json.loads(vocab_path.read_text())["vocab"]
    module = BagOfEmbeddings(len(vocab))
    module.load_state_dict(load_file(str(path)))
    return BagAdapter(module, vocab, _info(sha256_of(path, vocab_path)), device)


def encode(texts: list[str], index: dict[str, int]) -> torch.Tensor:
    """Right-padded id matrix [N, T_max] (rows of only UNK for texts without words)."""
    rows = [[index.get(w, 1) for w in tokenize(t)] or [1] for t in texts]
    out = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out


@torch.no_grad()
def accuracy(model: BagAdapter, texts: list[str] | None = None, labels=None) -> float:
    """Accuracy on the full held-out split (default) or on the given texts/labels."""
    if texts is None:
        from models.data import rotten_tomatoes

        s = rotten_tomatoes()
        texts, labels = s.x_test, s.y_test
    ids = encode(texts, model.index).to(model.device)
    pred = torch.cat([model.forward(b).argmax(-1) for b in ids.split(512)]).cpu().numpy()
    return float((pred == np.asarray(labels)).mean())


def build_vocab(texts: list[str]) -> list[str]:
    from collections import Counter

    counts = Counter(w for t in texts for w in tokenize(t))
    words = sorted((w for w, c in counts.items() if c >= MIN_COUNT), key=lambda w: (-counts[w], w))
    return [PAD, UNK, *words]


def train(seed: int = 0) -> dict[str, Any]:
    """Train from the Rotten Tomatoes snippets with a fixed seed; write weights, vocab, card."""
    from safetensors.torch import save_file

    from models.data import rotten_tomatoes

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    s = rotten_tomatoes()
    vocab = build_vocab(s.x_train)
    index = {w: i for i, w in enumerate(vocab)}
    x, y = encode(s.x_train, index), torch.tensor(s.y_train)
    module = BagOfEmbeddings(len(vocab))
    opt = torch.optim.Adam(module.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(module(x[idx]), y[idx]).backward()
            opt.step()
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    LABELS.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(WEIGHTS_FILE))
    VOCAB_FILE.write_text(json.dumps({"pad": PAD, "unk": UNK, "vocab": vocab}) + "\n")
    text_common.write_samples()
    acc = accuracy(BagAdapter(module.eval(), vocab, _info(), "cpu"))
    card = {
        "name": NAME,
        "model": f"Embedding({len(vocab)}, {EMBED_DIM}) -> mean over words -> Dense 24 ReLU "
                 "-> Dense 2 (negative, positive)",
        "tokenizer": "lowercase words [a-z0-9]+ (with inner apostrophes) plus ! and ?; "
                     f"vocabulary = training words seen >= {MIN_COUNT} times; PAD=0, UNK=1",
        "data": "Rotten Tomatoes snippets: fresh -> positive, rotten -> negative, plot rows dropped",
        "split": {"method": "stratified 80/20, random_state=0", "train": len(s.y_train),
                  "held_out": len(s.y_test)},
        "heldout_accuracy": round(acc, 6),
        "training": {"command": f"python -m models.train {NAME}", "seed": seed,
                     "optimizer": f"Adam lr=5e-3, {EPOCHS} epochs, batch 64",
                     "seconds": round(time.perf_counter() - t0, 1)},
        "credits": text_common.RT_CREDIT,
        "licence": "data: research use as distributed by Pang & Lee (Cornell); weights trained "
                   "here, same licence as the project",
    }
    save_card(NAME, card)
    return card

"""Knowledge distillation of a smaller student (image CNN or bag-of-embeddings text model)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.base import ModelAdapter
from models.compress.wrap import accuracy, count_parameters, wrap_compressed
from models.errors import CancelledError, InputError, UnsupportedError

Progress = Callable[[int, int], Any]


@dataclass(frozen=True)
class DistillConfig:
    """Knobs of one distillation run (Hinton et al. 2015: soft targets at temperature T)."""

    temperature: float = 4.0
    alpha: float = 0.7  # weight of the soft-target loss; 1 - alpha on the true labels
    width: int = 8  # student size: conv channels (image) or embedding dimension (text)
    epochs: int = 4
    batch_size: int = 64
    lr: float = 3e-3
    max_seconds: float = 180.0  # data preparation + training stop at this bound (and say so)
    max_train: int | None = None  # use at most this many training examples
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {"temperature": self.temperature > 0, "alpha": 0 <= self.alpha <= 1,
                  "width": self.width >= 1, "epochs": self.epochs >= 1,
                  "batch_size": self.batch_size >= 1, "lr": self.lr > 0,
                  "max_seconds": self.max_seconds > 0}
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise InputError(f"distillation {bad[0]}={getattr(self, bad[0])!r} is out of range "
                             "(temperature>0, 0<=alpha<=1, width/epochs/batch_size>=1, lr>0, "
                             "max_seconds>0)")


@dataclass
class DistillResult:
    """The student (as an adapter) and what the run measured."""

    model: ModelAdapter
    teacher_params: int
    student_params: int
    accuracy: float  # student, on the held-out split
    teacher_accuracy: float
    seconds: float
    steps_done: int
    steps_total: int
    stopped_early: bool
    notice: str = ""
    losses: list[float] = field(default_factory=list)  # mean loss per finished epoch


class StudentCNN(nn.Module):
    """conv(w) -> pool -> conv(2w) -> pool -> 4x4 average -> linear: a few thousand weights."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 8):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AdaptiveAvgPool2d(4)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2 * width * 16, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        return self.fc(self.flatten(self.pool2(self.relu2(self.conv2(x)))))


class StudentBag(nn.Module):
    """Token embeddings averaged over non-[PAD] tokens -> linear."""

    def __init__(self, vocab_size: int, n_classes: int, width: int = 8, pad_token_id: int = 0):
        super().__init__()
        self.pad_token_id = pad_token_id
        self.embedding = nn.Embedding(vocab_size, width, padding_idx=pad_token_id)
        self.fc = nn.Linear(width, n_classes)

    def forward(self, input_ids: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
        mask = (input_ids != self.pad_token_id).unsqueeze(-1).to(torch.float32)
        pooled = (self.embedding(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.fc(pooled)


def build_student(model: ModelAdapter, width: int) -> nn.Module:
    """A student that takes the same preprocessed input as the teacher."""
    n = model.info.num_classes
    if model.info.modality == "image":
        sample = _first_sample(model)
        channels = model.as_tuple(model.preprocess(sample))[0].shape[1]
        return StudentCNN(channels, n, width)
    emb = getattr(model, "embedding_layer", None)
    if model.info.modality == "text" and isinstance(emb, nn.Embedding | nn.EmbeddingBag):
        return StudentBag(emb.num_embeddings, n, width, int(model.pad_token_id))
    raise UnsupportedError(f"distillation supports image models and text models with an "
                           f"nn.Embedding layer; {model.info.name} is {model.info.modality}")


def _first_sample(model: ModelAdapter) -> Any:
    rows = model.samples(1, 0) if hasattr(model, "samples") else []
    if not rows:
        raise UnsupportedError(f"{model.info.name} has no samples to distil on")
    return rows[0][0]


def default_train_data(model: ModelAdapter) -> list[tuple[Any, int]]:
    """The bundled training split of the built-in the model comes from."""
    from models import data

    name = model.info.card.get("compressed_from", model.info.name)
    loaders = {"mnist-cnn": data.mnist, "sentiment-bag": data.rotten_tomatoes}
    if name not in loaders:
        raise UnsupportedError(f"no bundled training data for {name!r}; distillation runs on "
                               f"{', '.join(loaders)} (or pass train_data)")
    split = loaders[name]()
    return list(zip(split.x_train, (int(y) for y in split.y_train), strict=True))


def _inputs(model: ModelAdapter, rows: list[tuple[Any, int]]) -> tuple[list, list[int], int]:
    """Preprocessed inputs and labels; rows the model rejects (e.g. a text with no words it
    reads) are counted and left out."""
    xs, ys, skipped = [], [], 0
    for raw, label in rows:
        try:
            xs.append(model.as_tuple(model.preprocess(raw))[0])
        except InputError:
            skipped += 1
            continue
        ys.append(int(label))
    if not xs:
        raise InputError(f"none of the {len(rows)} training examples could be preprocessed")
    return xs, ys, skipped


def _tensors(model: ModelAdapter, rows: list[tuple[Any, int]]) -> tuple[Any, ...]:
    """(inputs [N, ...], teacher logits [N, C], labels [N], skipped); text padded with [PAD]."""
    xs, labels, skipped = _inputs(model, rows)
    y = torch.tensor(labels, dtype=torch.long)
    with torch.no_grad():
        if model.info.modality == "text":  # teacher sees each text unpadded, as at inference
            logits = torch.cat([model.forward(x).float() for x in xs])
            width = max(x.shape[1] for x in xs)
            x = torch.full((len(xs), width), int(model.pad_token_id), dtype=xs[0].dtype,
                           device=xs[0].device)
            for i, t in enumerate(xs):
                x[i, :t.shape[1]] = t[0]
        else:
            x = torch.cat(xs)
            logits = torch.cat([model.forward(b).float() for b in x.split(256)])
    return x, logits, y.to(x.device), skipped


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, y: torch.Tensor,
            temperature: float, alpha: float) -> torch.Tensor:
    """alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy(student, y)."""
    soft = F.kl_div(F.log_softmax(student / temperature, -1), F.softmax(teacher / temperature, -1),
                    reduction="batchmean") * temperature**2
    return alpha * soft + (1 - alpha) * F.cross_entropy(student, y)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and progress(done, total) is False:
        raise CancelledError(f"distillation cancelled after {done} of {total} steps")


def _train(student: nn.Module, data: tuple[torch.Tensor, ...], cfg: DistillConfig,
           progress: Progress | None, start: float) -> tuple[int, int, bool, list[float]]:
    x, t_logits, y = data[:3]
    n_batches = -(-len(x) // cfg.batch_size)
    total, done, losses = cfg.epochs * n_batches, 0, []
    opt = torch.optim.Adam(student.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    student.train()
    for _ in range(cfg.epochs):
        epoch_loss = []
        for idx in torch.randperm(len(x), generator=gen).split(cfg.batch_size):
            if time.perf_counter() - start > cfg.max_seconds:
                return done, total, True, losses
            idx = idx.to(x.device)
            loss = kd_loss(student(x[idx]), t_logits[idx], y[idx], cfg.temperature, cfg.alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
            epoch_loss.append(float(loss.detach()))
            done += 1
            _report(progress, done, total)
        losses.append(float(np.mean(epoch_loss)))
    return done, total, False, losses


def distill(model: ModelAdapter, config: DistillConfig | None = None,
            progress: Progress | None = None, train_data: list[tuple[Any, int]] | None = None,
            held_out: list[tuple[Any, int]] | None = None) -> DistillResult:
    """Train a smaller student on the teacher's soft targets; accuracy on the held-out split.

    train_data / held_out default to the bundled training split and `model.samples()`.
    Training stops at `config.max_seconds` and the result says so (stopped_early, notice).
    """
    cfg = config or DistillConfig()
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    student = build_student(model, cfg.width).to(model.device)
    rows = train_data if train_data is not None else default_train_data(model)
    if cfg.max_train is not None:
        rows = [rows[i] for i in np.random.default_rng(cfg.seed).permutation(len(rows))
                [:cfg.max_train]]
    if not rows:
        raise InputError("distillation needs at least one training example")
    with model.lock:
        data = _tensors(model, rows)
    done, total, early, losses = _train(student, data, cfg, progress, started)
    seconds = time.perf_counter() - started
    notice = (f"stopped at the time bound of {cfg.max_seconds:g} s after {done} of {total} "
              "steps" if early else "")
    if data[3]:
        notice = "; ".join(filter(None, [notice, f"{data[3]} training examples the model "
                                                 "rejects were left out"]))
    details = {"op": "distill", "temperature": cfg.temperature, "alpha": cfg.alpha,
               "width": cfg.width, "steps": done, "stopped_early": early}
    label = f"distilled w{cfg.width} T{cfg.temperature:g} a{cfg.alpha:g}"
    wrapped = wrap_compressed(model, student, label, details=details)
    test = held_out if held_out is not None else model.samples(None, 0)
    return DistillResult(
        model=wrapped, teacher_params=count_parameters(model.module),
        student_params=count_parameters(student), accuracy=accuracy(wrapped, test),
        teacher_accuracy=accuracy(model, test), seconds=seconds, steps_done=done,
        steps_total=total, stopped_early=early, notice=notice, losses=losses)

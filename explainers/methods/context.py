"""One call of a method: the inputs Captum attributes (one input or a batch), targets, baselines."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from explainers import baselines as bl
from explainers.base import Attribution
from explainers.batching import Counter, counting, per_sample_bytes, pick_batch, with_retry
from explainers.control import current
from models.base import HasFusion, HasWordIds, ModelAdapter
from models.errors import UnsupportedError

IMAGE, TEXT, TABULAR, FUSION, GENERATION = "image", "text", "tabular", "fusion", "generation"


class ForwardModule(nn.Module):
    """An nn.Module around a forward function (DeepLift, LRP and guided backprop hook modules)."""

    def __init__(self, model: ModelAdapter, forward: Callable[..., torch.Tensor]):
        super().__init__()
        self.inner = model.module  # registered as a child: Captum finds its ReLUs etc.
        self._fn = forward

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        return self._fn(*x)


def attribution_view(model: ModelAdapter, x: tuple[torch.Tensor, ...], gradients: bool
                     ) -> tuple[tuple[torch.Tensor, ...], Callable[..., torch.Tensor]]:
    """What a method attributes and the forward over it. Fusion models under a gradient method
    take (image, token embeddings) through forward_embeddings (ids have no gradient); every
    other case takes the preprocessed input through model.forward."""
    if model.info.modality == FUSION and gradients and isinstance(model, HasFusion):
        image, ids = x
        with torch.no_grad():
            embeds = model.embed(ids).detach()
        return (image, embeds), model.forward_embeddings
    return x, model.forward


@dataclass
class Ctx:
    """One call: the model, raw input(s), target(s), resolved params, the attributed inputs x
    (a batch of `rows`: 1 for explain(), more for explain_batch()), progress."""

    method: Any  # the Method running (explainers.methods._common)
    model: ModelAdapter
    raws: list[Any]
    targets: list[int]
    p: dict[str, Any]
    seed: int
    x: tuple[torch.Tensor, ...]
    fn: Callable[..., torch.Tensor]  # forward over x: logits [rows, classes]
    progress: Callable[[int, int], Any] | None = None
    free: dict[str, Any] = field(default_factory=dict)
    used: dict[str, Any] = field(default_factory=dict)  # resolved extras (baseline kind, ...)
    counter: Counter | None = None
    out: torch.Tensor | None = None  # f(x) for the targets, once computed
    ids: torch.Tensor | None = None  # fusion: the token ids behind embedded x[1]

    @property
    def raw(self) -> Any:
        return self.raws[0]

    @property
    def rows(self) -> int:
        return len(self.targets)

    @property
    def target(self) -> int | list[int]:
        """Captum's target: an int for one input, one per row for a batch."""
        return self.targets[0] if self.rows == 1 else list(self.targets)

    @property
    def modality(self) -> str:
        return self.model.info.modality

    @property
    def inp(self) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self.x[0] if len(self.x) == 1 else self.x

    def forward(self, total: int) -> Callable[..., torch.Tensor]:
        """The forward counting evaluated samples against `total` (progress + cancel)."""
        self.counter = Counter(total * self.rows, self.progress)
        return counting(self.fn, self.counter)

    def module(self, total: int) -> ForwardModule:
        return ForwardModule(self.model, self.forward(total))

    def baseline(self) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The reference input, shaped like x (a tuple for fusion models)."""
        kind = bl.resolve_kind(self.model, self.p["baselines"])
        self.used["baselines"] = kind
        custom = self.free.get("custom_baseline")
        if self.modality == FUSION:
            return self.fusion_baseline(kind)
        rows = [bl.make_baseline(self.model, raw, self.x[0][r: r + 1], kind, custom)
                for r, raw in enumerate(self.raws)]
        return rows[0] if self.rows == 1 else torch.cat(rows)

    def fusion_baseline(self, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(image baseline, all-[PAD] text): as embeddings when x holds embeddings."""
        image = self.model.baseline(self.x[0], "black" if kind == "auto" else kind)
        ids = self.ids if self.ids is not None else self.x[1]
        pad = torch.full_like(ids, self.model.pad_token_id)
        if self.ids is not None:
            with torch.no_grad():
                pad = self.model.embed(pad).detach()
        self.used["text_baseline"] = "[PAD]"
        return image.detach().to(self.x[0]), pad

    def batch(self, n: int, grad: bool = True) -> int:
        """Samples (rows of x) per forward for n perturbations/steps of every row."""
        per_device = pick_batch(self.model, self.x, n * self.rows, grad, self.fn)
        batch = max(1, min(n * self.rows, per_device * getattr(self.fn, "n_devices", 1)))
        ctl = current()  # a controlled run: small enough batches that its checks come often
        cap = None if ctl is None else ctl.max_batch(per_sample_bytes(self.model, self.x, self.fn))
        return batch if cap is None else min(batch, cap)

    def retry(self, fn: Callable[[int], Any], n: int, grad: bool = True) -> Any:
        """fn(batch) with a memory-picked batch, halved on out-of-memory; records the batch."""
        out, used = with_retry(fn, self.batch(n, grad))
        self.used["batch_size"] = used
        return out

    @torch.no_grad()
    def logit(self, x: tuple[torch.Tensor, ...] | None = None) -> torch.Tensor:
        """Target logits of a batch (default: the input, computed once), shape [batch]."""
        if x is None:
            if self.out is None:
                self.out = self.pick(self.fn(*self.x))
            return self.out
        return self.fn(*x)[:, self.targets[0]].float()

    def pick(self, logits: torch.Tensor) -> torch.Tensor:
        """Row r's target logit, for logits of the rows of x: [rows]."""
        idx = torch.as_tensor(self.targets, device=logits.device)[:, None]
        return logits.gather(1, idx)[:, 0].float()

    @torch.no_grad()
    def delta(self, attr: Any, base: torch.Tensor | tuple[torch.Tensor, ...]) -> np.ndarray:
        """|sum(attr) - (f(x) - f(baseline))| per row (Captum's convergence delta), from one
        batched forward over [x, baseline]; f(x) is kept as the output."""
        bases = base if isinstance(base, tuple) else (base,)
        both = tuple(torch.cat([x, b.to(x.dtype)]) for x, b in zip(self.x, bases, strict=True))
        out = self.fn(*both)
        fx, fb = self.pick(out[: self.rows]), self.pick(out[self.rows:])
        self.out = fx
        return np.abs(row_sums(attr, self.rows) - (fx - fb).double().cpu().numpy())

    def finish(self, attr: Any, channels: str = "sum", row_extras: dict | None = None,
               **kw: Any) -> Any:
        """Attribution (a list of them for a batch) from a Captum/SHAP result: reduced values,
        units, params, output. `delta` may be one value per row; `row_extras` arrays are split
        by row."""
        if self.counter is not None:
            self.counter.finish()
        names = self.method.param_names(self.model)
        params = {k: v for k, v in self.p.items() if k in names}
        params.update({k: v for k, v in self.used.items() if k in names})  # resolved "auto"s
        params["seed"] = self.seed
        # what was derived (noise std, batch size, ...) is not a parameter: it goes to extras
        extras = {**{k: v for k, v in self.used.items() if k not in names},
                  **kw.pop("extras", {})}
        delta = kw.pop("delta", None)
        outputs = self.logit().cpu().numpy()
        info = self.model.info
        results = []
        for r in range(self.rows):
            values, units = reduce(self, attr, channels, r)
            mine = {**extras, **{k: np.asarray(v[r]) for k, v in (row_extras or {}).items()}}
            d = None if delta is None else float(np.ravel(delta)[r])
            results.append(Attribution(
                values=values, units=units, method=self.method.name, target=self.targets[r],
                target_label=str(info.class_names[self.targets[r]]), params=params, extras=mine,
                model_name=info.name, modality=info.modality, output=float(outputs[r]),
                delta=d, **kw))
        return results[0] if self.rows == 1 else results


def row_sums(attr: Any, rows: int) -> np.ndarray:
    """Sum of the attributions of each row, over every input of a tuple: [rows]."""
    parts = attr if isinstance(attr, tuple) else (attr,)
    total = np.zeros(rows)
    for a in parts:
        t = torch.as_tensor(a.detach() if isinstance(a, torch.Tensor) else np.asarray(a))
        total += t.double().reshape(rows, -1).sum(1).cpu().numpy()
    return total


def to_numpy(attr: Any) -> np.ndarray:
    if isinstance(attr, torch.Tensor):
        return attr.detach().float().cpu().numpy()
    return np.asarray(attr, dtype=np.float64)


def reduce(ctx: Ctx, attr: Any, channels: str = "sum", row: int = 0) -> tuple[Any, Any]:
    """Row `row` of a Captum/SHAP result -> (values, units). Image [C,H,W] -> [H,W]: signed sum
    over channels for gradient maps; "mean" for perturbation maps, whose channels carry the same
    value (a region is switched off in every channel at once). Text [T(,D)] -> [T] (sum over the
    embedding); tabular [F]. Fusion (image, text) -> {"image": [H,W], "text": [T]}. Text pieces
    are merged into words when asked."""
    parts = attr if isinstance(attr, tuple) else (attr,)
    a = [to_numpy(t).astype(np.float64) for t in parts]
    raw = ctx.raws[row]
    if ctx.modality == FUSION:
        image, text = image_map(a[0], row, channels), a[1]
        text = text[row]  # [T, D] embeddings, or [T] tokens
        text = text.sum(-1) if text.ndim == 2 else text
        return {"image": image, "text": text}, {"text": tuple(ctx.model.tokens(raw))}
    if ctx.modality == IMAGE:
        return image_map(a[0], row, channels), ()
    values = a[0][row] if ctx.rows > 1 else (a[0][0] if a[0].ndim > 1 else a[0])
    values = values.sum(-1) if values.ndim == 2 else values  # [T, D] -> [T]
    units = tuple(ctx.model.units(raw))
    if ctx.modality == TEXT and ctx.p.get("merge_words"):
        return merge_words(ctx.model, raw, values, units)
    return values, units


def image_map(a: np.ndarray, row: int, channels: str) -> np.ndarray:
    """[N, C, H, W] (or one [C, H, W]) -> row's [H, W]: channel sum, or mean for perturbations."""
    a = a[row] if a.ndim == 4 else a
    a = a.reshape(a.shape[-3:])
    return a.mean(0) if channels == "mean" else a.sum(0)


def merge_words(model: ModelAdapter, raw: Any, a: np.ndarray, tokens: tuple
                ) -> tuple[np.ndarray, tuple]:
    """Sum subword pieces per word (HasWordIds); special tokens stay their own units."""
    if not isinstance(model, HasWordIds):
        raise UnsupportedError(f"merge_words needs word_ids() on {model.info.name}")
    values: list[float] = []
    units: list[str] = []
    last = object()
    for w, tok, v in zip(model.word_ids(raw), tokens, a, strict=True):
        piece = str(tok)
        if w is not None and w == last:
            values[-1] += float(v)
            units[-1] += piece[2:] if piece.startswith("##") else piece
        else:
            values.append(float(v))
            units.append(piece.lstrip("Ġ▁"))
        last = w
    return np.asarray(values), tuple(units)

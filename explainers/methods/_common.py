"""The method template: shared params, seeding, reduction to values and units, and Method."""
from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import torch

from explainers import baselines as bl
from explainers import devices
from explainers import generation as gen
from explainers.base import Attribution, Explainer, Param
from explainers.methods.context import (  # noqa: F401  (re-exported: every method imports these)
    FUSION,
    GENERATION,
    IMAGE,
    TABULAR,
    TEXT,
    Ctx,
    ForwardModule,
    attribution_view,
    merge_words,
    reduce,
    to_numpy,
)
from models.base import HasEmbeddingLayer, HasFusion, ModelAdapter
from models.compress import is_int8

BASELINES = Param("baselines", "choice", "auto", choices=bl.ALL_KINDS, help=(
    "Reference input: auto = the model's default (black image, [PAD] tokens, training mean); "
    "custom takes custom_baseline= (an image, array or table row)."))
MERGE = Param("merge_words", "bool", False, help=(
    "Text: sum the scores of subword pieces into whole words (needs the model's word_ids)."))
N_STEPS = Param("n_steps", "int", 50, min=2, max=1000, step=10,
                help="Integration steps along the path from the baseline to the input (with a "
                     "tolerance above 0: the most steps the adaptive schedule may reach).")
TOLERANCE = Param("tolerance", "float", 0.0, min=0.0, max=1.0, step=0.01, help=(
    "Adaptive steps: above 0, tries 8, 16, 32, ... steps (up to n_steps) and keeps the fewest "
    "whose |completeness delta| is at most this share of |f(x) - f(baseline)|; the steps chosen "
    "are recorded as n_steps. 0 = exactly n_steps."))


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch/numpy/random for one call and restore their states afterwards."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        seed_all(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


class Method(Explainer):
    """Template: resolve params, seed, preprocess, build the Ctx, run(ctx) -> Attribution.

    What a method needs is declared, not probed: `gradients` (it back-propagates: refused on
    int8 models; fusion models give it token embeddings), `batchable` (many inputs can share one
    Captum call: explain_batch), `modalities`, and `missing(model)` for anything else."""

    only: ClassVar[dict[str, tuple[str, ...]]] = {"merge_words": (TEXT,), "baselines": ()}
    free_params: ClassVar[tuple[str, ...]] = ("custom_baseline",)

    def param_names(self, model: ModelAdapter) -> set[str]:
        return {p.name for p in self.params_for(model)}

    def params_for(self, model: ModelAdapter) -> tuple[Param, ...]:
        if model.info.modality == GENERATION:
            return gen.params_for(self.name, self.params)
        out = []
        for p in self.params:
            mods = self.only.get(p.name, ())
            if mods and model.info.modality not in mods:
                continue
            if p.name == "baselines":
                p = replace(p, choices=("auto", *bl.kinds_for(model)))
            out.append(p)
        return tuple(out)

    def explain(self, model: ModelAdapter, raw: Any, target: Any, **params: Any) -> Attribution:
        x = model.preprocess(raw)
        if model.info.modality == GENERATION:  # target: the continuation text (None = greedy)
            return self.attribute_continuation(model, x, raw, target, params)
        return self.attribute(model, x if isinstance(x, tuple) else (x,), [raw], [int(target)],
                              params)

    def explain_batch(self, model: ModelAdapter, raws: list[Any], targets: list[int],
                      **params: Any) -> list[Attribution]:
        """Many inputs in one Captum call (batchable methods; inputs of one shape), else one
        call each. Row r equals explain(model, raws[r], targets[r], **params)."""
        xs = [model.preprocess(r) for r in raws]
        xs = [x if isinstance(x, tuple) else (x,) for x in xs]
        shapes = {tuple(tuple(t.shape) for t in x) for x in xs}
        if model.info.modality == GENERATION:  # one continuation each
            return [self.explain(model, r, t, **params) for r, t in zip(raws, targets, strict=True)]
        if not self.batchable or len(shapes) > 1 or len(raws) == 1:
            return [self.attribute(model, x, [r], [int(t)], params)
                    for x, r, t in zip(xs, raws, targets, strict=True)]
        x = tuple(torch.cat(parts) for parts in zip(*xs, strict=True))
        return self.attribute(model, x, list(raws), [int(t) for t in targets], params)

    def attribute(self, model: ModelAdapter, x: tuple[torch.Tensor, ...], raws: list[Any],
                  targets: list[int], params: dict[str, Any]) -> Any:
        """run() on preprocessed inputs x (rows = len(targets)); one Attribution per row."""
        p = self.resolve(params)
        seed = int(params.get("seed", 0))
        free = {k: params[k] for k in self.free_params if k in params}
        view, fn = attribution_view(model, x, self.gradients)
        ctx = Ctx(self, model, raws, targets, p, seed, view, fn, params.get("progress"), free,
                  ids=x[1] if view is not x else None)
        ctx.fn = devices.spread(self.name, model, fn, ctx.used)  # several GPUs: split batches
        # only stochastic methods draw random numbers; forking the RNGs costs ~1 ms a call
        rng = seeded(seed) if self.stochastic else contextlib.nullcontext()
        with rng, torch.enable_grad():
            return self.run(ctx)

    def attribute_continuation(self, model: ModelAdapter, x: torch.Tensor, raw: Any,
                               target: str | None, params: dict[str, Any]) -> Attribution:
        """run() on a language model's prompt ids; the continuation and spans go to ctx.free."""
        p = gen.resolve(self.name, self.params_for(model), params, self.free_params)
        seed = int(params.get("seed", 0))
        free = {k: params[k] for k in (*self.free_params, *gen.params.FREE) if k in params}
        free["continuation"] = gen.check_generation_target(target)
        ctx = Ctx(self, model, [raw], [-1], p, seed, (x,), model.forward,
                  params.get("progress"), free)
        rng = seeded(seed) if self.stochastic else contextlib.nullcontext()
        with rng, torch.enable_grad():
            return self.run(ctx)

    def run(self, ctx: Ctx) -> Attribution:
        raise NotImplementedError

    def why_not(self, model: ModelAdapter) -> str:
        return self.wrong_modality(model) or self.missing(model)

    def supports(self, model: ModelAdapter) -> bool:
        return not self.why_not(model)

    def missing(self, model: ModelAdapter) -> str:
        """'' when the model has what the method needs, else one line saying what is missing."""
        modality = model.info.modality
        if modality == TEXT and self.gradients and not isinstance(model, HasEmbeddingLayer):
            return f"{self.name} on text needs the model's embedding_layer (HasEmbeddingLayer)"
        if modality == FUSION and not isinstance(model, HasFusion):
            return f"{self.name} on fusion models needs embed/forward_embeddings (HasFusion)"
        if self.gradients and is_int8(model.module):
            return (f"{self.name} needs gradients, and int8-quantized layers have none (torch "
                    "only warns and returns zeros); use occlusion, feature_ablation or kernel_shap")
        return ""

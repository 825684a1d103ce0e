"""Generation knobs: which method params apply to language models, Captum's defaults, spans."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from explainers.base import Param
from models.errors import InputError

GENERATION = "generation"
MAX_NEW_TOKENS = Param("max_new_tokens", "int", 20, "Greedy continuation length when no target "
                       "is given (the model's own continuation is explained).", min=1, max=512)
CONTRAST = Param("contrast", "str", "", "Contrastive target: explain log p(target) - "
                 "log p(contrast), i.e. why the target rather than this continuation.")
PER_TOKEN = Param("per_token", "bool", True, "Also attribute each continuation token "
                  "(extras['token_attr']); off = only the whole continuation, faster.")
GEN_BASELINES = ("auto", "zero", "pad")  # token id 0 (Captum's TextTokenInput default) or [PAD]
# params of the shared method classes that mean something for a language model
KEEP = {"n_samples", "baselines", "merge_words", "n_steps", "integration_method", "abs",
        "layer", "head", "variant"}
# Captum's own defaults, so that explain() with defaults equals the direct Captum call
CAPTUM_DEFAULTS = {"lime": {"n_samples": 25}, "kernel_shap": {"n_samples": 25},
                   "shapley_value_sampling": {"n_samples": 25}}
PER_TOKEN_METHODS = {"integrated_gradients", "saliency", "input_x_gradient"}
FREE = ("spans",)


def params_for(method: str, params: tuple[Param, ...]) -> tuple[Param, ...]:
    """The spec of one method on a language model: kept params, Captum's defaults, extras."""
    out = []
    for p in params:
        if p.name not in KEEP:
            continue
        if p.name == "baselines":
            p = replace(p, choices=GEN_BASELINES, help="Token put in place of a removed prompt "
                        "token: auto/zero = token id 0 (Captum's default), pad = the [PAD] token.")
        if p.name in CAPTUM_DEFAULTS.get(method, {}):
            p = replace(p, default=CAPTUM_DEFAULTS[method][p.name])
        out.append(p)
    extra = (PER_TOKEN,) if method in PER_TOKEN_METHODS else ()
    return (*out, *extra, MAX_NEW_TOKENS, CONTRAST)


def resolve(method: str, spec: tuple[Param, ...], params: dict[str, Any],
            free: tuple[str, ...] = ()) -> dict[str, Any]:
    """Defaults filled in and values coerced for a generation model; unknown names are an error."""
    names = {p.name: p for p in spec}
    unknown = sorted(set(params) - set(names) - {"seed", "progress", *FREE, *free})
    if unknown:
        raise InputError(f"{method} on a language model has no parameter {unknown[0]!r}; "
                         f"allowed: {sorted(names)}")
    return {n: p.coerce(params.get(n, p.default)) for n, p in names.items()}


SPAN = re.compile(r"^\s*(-?\d+)\s*:\s*(-?\d+)\s*$")


def parse_spans(spans: Any, n: int) -> list[tuple[int, int]]:
    """User spans over n prompt tokens: [(start, end), ...] or "0:3, 5:7" (end exclusive,
    like Python slices; negative indices count from the end). Overlaps are an error."""
    if spans is None or spans == "" or spans == []:
        return []
    if isinstance(spans, str):
        pairs = []
        for part in spans.split(","):
            m = SPAN.match(part)
            if not m:
                raise InputError(f"span {part.strip()!r} is not 'start:end' (e.g. spans='0:3,5:7')")
            pairs.append((int(m.group(1)), int(m.group(2))))
    else:
        try:
            pairs = [(int(a), int(b)) for a, b in spans]
        except (TypeError, ValueError) as exc:
            raise InputError(f"spans must be (start, end) pairs or 'start:end,...', "
                             f"got {spans!r:.80}") from exc
    out, used = [], set()
    for a, b in pairs:
        start, end = a % n if a < 0 else a, b % n if b < 0 else b
        if not 0 <= start < end <= n:
            raise InputError(f"span {a}:{b} is outside the prompt's {n} tokens (0:{n})")
        if used & set(range(start, end)):
            raise InputError(f"span {a}:{b} overlaps another span")
        used |= set(range(start, end))
        out.append((start, end))
    return sorted(out)

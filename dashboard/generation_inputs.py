"""Generation inputs: the prompt box, the settings (length, target, contrast), the method picker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import cache, state
from dashboard.panels import method_label
from dashboard.runner import available_methods, param_expander
from explainers import get_method
from models import InputError, ModelAdapter

DEFAULT_PROMPT = "the film is"
EXAMPLES = ("the film is", "the acting is", "i would not recommend this movie because")
MAX_PROMPT_CHARS = 4_000
MAX_NEW_TOKENS = 64
OWN, MINE = "The model's own continuation", "A continuation I type"
# settings the view draws once for all methods, so they get no per-method widget
VIEW_PARAMS = ("max_new_tokens", "contrast", "target", "spans")
PREFERRED = ("feature_ablation", "integrated_gradients", "attention")


@dataclass(frozen=True)
class GenRequest:
    """What to explain: a prompt, the continuation's length or text, an optional contrast."""

    prompt: str
    max_new_tokens: int
    target: str | None  # None = the model's greedy continuation
    contrast: str | None
    spans: str = ""  # "start:end, ..." over the prompt's tokens; "" = attribute to tokens


def _set_prompt(text: str) -> None:
    st.session_state[state.GEN_PROMPT] = text


def prompt_box() -> str:
    """The prompt text area with clickable examples."""
    if state.GEN_PROMPT not in st.session_state:
        state.put(state.GEN_PROMPT, DEFAULT_PROMPT)
    cols = st.columns(len(EXAMPLES))
    for i, (col, text) in enumerate(zip(cols, EXAMPLES, strict=True)):
        col.button(text, key=state.widget_key("gen_example", i), on_click=_set_prompt,
                   args=(text,), width="stretch")
    return st.text_area("Prompt", key=state.GEN_PROMPT, height=90, max_chars=MAX_PROMPT_CHARS,
                        help="The model continues this text; the explanation says which of its "
                             "tokens drove each generated token.")


def settings() -> tuple[int, str | None, str | None]:
    """Continuation length, the target (None = the model's own) and the contrast (or None)."""
    for key, default in ((state.GEN_MAX_NEW, 12), (state.GEN_TARGET_MODE, OWN),
                         (state.GEN_TARGET, ""), (state.GEN_CONTRAST_ON, False),
                         (state.GEN_CONTRAST, "")):
        if key not in st.session_state:
            state.put(key, default)
    left, right = st.columns(2)
    n = int(left.number_input("Max new tokens", 1, MAX_NEW_TOKENS, key=state.GEN_MAX_NEW,
                              help="Length of the model's greedy continuation."))
    mode = right.radio("Explain", (OWN, MINE), key=state.GEN_TARGET_MODE)
    target = None
    if mode == MINE:
        target = st.text_input("Target continuation", key=state.GEN_TARGET,
                               placeholder=" a great film", help="The text after the prompt "
                               "whose log-probability is explained (mind the leading space).")
    contrast = None
    if st.checkbox("Contrast with another continuation", key=state.GEN_CONTRAST_ON,
                   help="Why the target rather than this: explains log p(target) - "
                        "log p(contrast)."):
        contrast = st.text_input("Contrast continuation", key=state.GEN_CONTRAST,
                                 placeholder=" a bad film")
    return n, target, contrast


def check(model: ModelAdapter, req: GenRequest) -> None:
    """InputError (one line) for an empty prompt, target or contrast, or one past the context."""
    if not req.prompt.strip():
        raise InputError("the prompt is empty: type a few words for the model to continue")
    for what, text in (("target", req.target), ("contrast", req.contrast)):
        if text is not None and not text.strip():
            raise InputError(f"the {what} continuation is empty: type one, or "
                             + ("explain the model's own" if what == "target" else
                                "untick the contrast"))
    limit = getattr(model, "context_length", None)
    if not limit:
        return
    n_prompt = len(model.tokens(req.prompt))
    longest = max(len(model.tokens(t)) for t in (req.target, req.contrast) if t) \
        if (req.target or req.contrast) else 0
    n_new = req.max_new_tokens if req.target is None else 0
    total = n_prompt + max(n_new, longest)
    if total > limit:
        raise InputError(f"the prompt is {n_prompt} tokens and the continuation "
                         f"{total - n_prompt}: {model.info.name} reads at most {limit} "
                         f"positions, so shorten the prompt or ask for fewer tokens")


def spans_box(model: ModelAdapter, prompt: str) -> str:
    """Optional spans of prompt tokens to attribute to as units, with the token indices shown."""
    if state.GEN_SPANS not in st.session_state:
        state.put(state.GEN_SPANS, "")
    with st.expander("Attribute to spans of the prompt", expanded=bool(state.get(state.GEN_SPANS))):
        if prompt.strip():
            numbered = " · ".join(f"{i}:{t!r}" for i, t in enumerate(model.tokens(prompt)))
            st.caption(f"Prompt tokens: {numbered}")
        return st.text_input("Spans (start:end, end exclusive)", key=state.GEN_SPANS,
                             placeholder="0:2, 2:4", help="Each span is one unit; tokens "
                             "outside every span stay single. Empty = one unit per token.")


def request(model: ModelAdapter) -> GenRequest:
    """The prompt box and settings as one checked request (InputError on bad input)."""
    prompt = prompt_box()
    n, target, contrast = settings()
    req = GenRequest(prompt, n, target, contrast)
    check(model, req)
    return GenRequest(prompt, n, target, contrast, spans_box(model, prompt).strip())


def method_picker(model: ModelAdapter) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Multiselect of the methods that fit the model, then each one's parameter widgets (those
    the view sets once for all, e.g. max_new_tokens, are left out)."""
    available = available_methods(model)
    if not available:
        st.warning(f"No explanation method supports {model.info.name} yet.")
        return [], {}
    wkey = state.widget_key(state.GEN_METHODS, cache.key(model))
    if wkey not in st.session_state:
        state.put(wkey, [m for m in PREFERRED if m in available][:2] or available[:1])
    selected = st.multiselect("Methods", available, key=wkey, format_func=method_label,
                              help="Each method explains the same continuation.")
    return selected, param_expander(model, selected, skip=tuple(VIEW_PARAMS))


def spec(name: str, model: ModelAdapter) -> tuple[Any, ...]:
    """A method's parameter spec for this model."""
    return get_method(name).params_for(model)


def takes(name: str, model: ModelAdapter, param: str) -> bool:
    """Whether a method accepts a parameter (in its spec or as a free parameter)."""
    method = get_method(name)
    return param in {p.name for p in spec(name, model)} | set(method.free_params)

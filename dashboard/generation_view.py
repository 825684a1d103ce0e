"""Explain page for generation models: prompt, continuation, what drove each generated token."""
from __future__ import annotations

import html
from typing import Any

import numpy as np
import streamlit as st
import torch

from dashboard import cache, generation_inputs, panels, progressive, state, widgets
from dashboard.figures import plot
from dashboard.generation_inputs import GenRequest
from dashboard.inputs import UserInput
from dashboard.runner import USER_ERRORS
from explainers import Attribution
from models import ModelAdapter
from models.base import IsGenerative

MD_SPECIAL = "\\`*_{}[]<>()#+-.!|~$:"


def pill_label(token: str) -> str:
    """A generated token as a pill label: spaces and newlines visible, markdown escaped."""
    shown = token.replace("\n", "⏎").replace("\t", "⇥")
    shown = shown if shown.strip() else shown.replace(" ", "␣")
    return "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in shown.strip() or shown)


SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def pill_labels(tokens: tuple[str, ...]) -> list[str]:
    """Unique pill labels: a repeated token gets its position as a subscript (Streamlit tells the
    pills apart by their label, so two equal labels would select the same pill)."""
    labels = [pill_label(t) for t in tokens]
    counts = {lab: labels.count(lab) for lab in labels}
    return [lab if counts[lab] == 1 else f"{lab}{str(i).translate(SUB)}"
            for i, lab in enumerate(labels)]


def continuation_for(model: ModelAdapter, req: GenRequest) -> str | None:
    """The user's target, or the model's greedy continuation (cached); None after an error."""
    if req.target is not None:
        return req.target
    try:
        with st.spinner("Generating..."):
            text = cache.generate(cache.key(model), req.prompt, req.max_new_tokens)
    except USER_ERRORS as exc:
        st.error(str(exc))
        return None
    if not text:
        st.error("the model wrote nothing (it ended the text at once): type a target instead")
        return None
    return text


def show_text(prompt: str, continuation: str, contrast: str | None) -> None:
    """The prompt in grey and the continuation in bold (escaped), the contrast below it."""
    body = (f'<div class="gb-continuation" style="font-size:1.1rem;line-height:1.8">'
            f'<span style="color:#777">{html.escape(prompt)}</span>'
            f'<b style="background:#fff3bf">{html.escape(continuation)}</b></div>')
    st.markdown(body, unsafe_allow_html=True)
    if contrast:
        st.markdown(f'<div style="color:#777">rather than: <s>{html.escape(contrast)}</s></div>',
                    unsafe_allow_html=True)


def call_params(model: ModelAdapter, selected: list[str], params: dict[str, dict[str, Any]],
                req: GenRequest) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each method's parameters with the spans and the contrast added (the contrast where it is
    accepted; the methods that cannot explain one are returned apart)."""
    out, refused = {}, []
    contrast = req.contrast
    for name in selected:
        p = dict(params.get(name, {}))
        if req.spans:
            p["spans"] = req.spans
        if contrast:
            if not generation_inputs.takes(name, model, "contrast"):
                refused.append(name)
                continue
            p["contrast"] = contrast
        out[name] = p
    return out, refused


def run(model: ModelAdapter, req: GenRequest, continuation: str, selected: list[str],
        params: dict[str, dict[str, Any]], seed: int, key: str) -> None:
    """Explain the continuation with every chosen method (progress bar, cached); keep results."""
    call, refused = call_params(model, selected, params, req)
    inp = UserInput(req.prompt, state.digest(req.prompt), req.prompt[:40])
    done = dict(progressive.run_methods(model, inp, continuation, list(call), call, seed,
                                        "generation")) if call else {}
    for name in refused:
        done[name] = f"{panels.method_label(name)} cannot explain a contrast (it has no " \
                     f"'contrast' parameter); untick the contrast to run it"
    items = [(name, done[name]) for name in selected]
    state.put(state.GEN_RESULTS, {"key": key, "model": cache.key(model), "prompt": req.prompt,
                                  "continuation": continuation, "contrast": req.contrast,
                                  "items": items})


def token_picker(results: dict[str, Any]) -> int | None:
    """The continuation as clickable pills; the index of the chosen token (None = none)."""
    good = [a for _, a in results["items"] if not isinstance(a, str)]
    if not good:
        return None
    labels = pill_labels(tuple(good[0].extras.get("output_tokens", ())))
    choice = st.pills("Generated tokens: click one to see which prompt tokens drove it",
                      list(range(len(labels))), format_func=lambda i: labels[i],
                      selection_mode="single",
                      key=state.widget_key(state.GEN_TOKEN, state.digest(results["key"])))
    return None if choice is None else int(choice)


def summary(a: Attribution) -> str:
    line = panels.summary_line(a)
    if a.output is not None:
        line += f" · log p(continuation) = {a.output:.3f}"
    return line


def result_panel(a: Attribution | str, name: str, row: int | None) -> None:
    """One method: the sequence-level highlight, the selected token's row, the heatmap."""
    st.markdown(f"#### {panels.method_label(name)}")
    if isinstance(a, str):
        st.error(a)
        return
    st.caption(summary(a))
    key = state.widget_key("gen", name)
    per_token = "token_attr" in a.extras
    if row is not None and not (per_token and row < len(a.extras["token_attr"])):
        row = None
    left, right = st.columns([2, 3], gap="medium")
    with left:
        st.markdown("**Whole continuation**")
        st.markdown(plot("token_highlight")(a), unsafe_allow_html=True)  # escaped by the plot
        if not per_token:
            st.caption("No per-token rows: per_token is off (tick it in the method's parameters)"
                       if a.params.get("per_token") is False else "This method attributes the "
                       "whole continuation only (no per-token rows, so no heatmap).")
            return
        if row is not None:
            token = html.escape(repr(a.extras["output_tokens"][row]))
            st.markdown(f"**What drove generated token {row}: {token}**")
            st.markdown(plot("row_highlight")(a, row), unsafe_allow_html=True)
    right.plotly_chart(plot("generation_heatmap")(a, row), key=key + "::heatmap")
    if "attention" in a.extras:
        attention_views(a, key)


def attention_views(a: Attribution, key: str) -> None:
    """The layers x heads grid and the rollout over prompt + continuation (causal)."""
    from explainers.methods.attention import rollout
    from explainers.plots.generation import generation_tokens

    att = np.asarray(a.extras["attention"], dtype=float)
    tokens = generation_tokens(a, att.shape[-1])
    roll = a.extras.get("rollout")
    roll = np.asarray(roll) if roll is not None else rollout(torch.as_tensor(att)).numpy()
    with st.expander("Attention: layers × heads, and rollout", expanded=False):
        st.plotly_chart(plot("attention_grid")(att, tokens), key=key + "::grid")
        st.plotly_chart(plot("attention_matrix")(roll, tokens, "attention rollout (all layers)"),
                        key=key + "::rollout")


def lens_section(model: ModelAdapter, results: dict[str, Any]) -> None:
    """The logit lens over prompt + continuation: top next tokens at every layer."""
    if not isinstance(model, IsGenerative):
        return
    st.subheader("Logit lens")
    if state.GEN_LENS_K not in st.session_state:
        state.put(state.GEN_LENS_K, 3)
    k = int(st.columns([1, 3])[0].number_input("Next tokens per cell (hover)", 1, 10,
                                                key=state.GEN_LENS_K))
    try:
        lens = cache.logit_lens(cache.key(model), results["prompt"], results["continuation"], k)
    except USER_ERRORS as exc:
        st.error(f"Logit lens failed: {exc}")
        return
    fig = plot("logit_lens_heatmap")(np.array(lens.tokens, dtype=object), lens.probs,
                                     lens.input_tokens, lens.layers,
                                     "logit lens: most likely next token at every layer")
    st.plotly_chart(fig, key="gen::lens")
    st.caption("Each cell: the next token the model would write if it stopped at that layer "
               "(final norm and output head applied to the residual stream); colour = its "
               "probability. The last row is the model's real output.")


def result_input(results: dict[str, Any]) -> UserInput:
    """The prompt of a result set, keyed by everything explained about it (prompt, continuation,
    contrast), so reports and trust scores of another continuation are not reused."""
    what = [results["prompt"], results["continuation"], results["contrast"] or ""]
    return UserInput(results["prompt"], state.digest(state.params_json(what)),
                     results["prompt"][:40])


def show_results(model: ModelAdapter, results: dict[str, Any], current: str | None) -> None:
    """The kept results (also while the input above has an error), token picker first."""
    if results["key"] != current:
        st.caption(f"Showing the last results, for the prompt "
                   f"“{html.escape(results['prompt'][:80])}”; press **Explain** for the current "
                   "input.")
    show_text(results["prompt"], results["continuation"], results["contrast"])
    row = token_picker(results)
    for name, a in results["items"]:
        with st.container(border=True):
            result_panel(a, name, row)
    lens_section(model, results)
    good = [a for _, a in results["items"] if not isinstance(a, str)]
    if good:
        st.subheader("Download")
        panels.download_buttons(model, result_input(results), good, tag="gen")


def inputs_and_continuation(model: ModelAdapter) -> tuple[GenRequest | None, str | None]:
    """Prompt and settings on the left, the continuation on the right; errors in place."""
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Prompt")
        try:
            req = generation_inputs.request(model)
        except USER_ERRORS as exc:
            st.error(str(exc))
            return None, None
    with right:
        st.subheader("Continuation")
        continuation = continuation_for(model, req)
        if continuation is not None:
            show_text(req.prompt, continuation, req.contrast)
            if not fits(model, req, continuation):
                return req, None
    return req, continuation


def fits(model: ModelAdapter, req: GenRequest, continuation: str) -> bool:
    """Show the memory one explanation needs and what is free; False (one line) if it won't fit."""
    from models.memory import free_bytes, human

    memory = getattr(model, "memory_bytes", None)
    if not callable(memory):
        return True
    tokens = len(model.tokens(req.prompt)) + len(model.continuation_ids(continuation))
    need, free = memory(tokens=tokens), free_bytes(model.device)
    if need > free:
        st.error(f"one explanation needs about {human(need)} but {model.device} has "
                 f"{human(free)} free: shorten the prompt or the continuation")
        return False
    st.caption(f"One explanation needs about {human(need)}; {human(free)} free on "
               f"{model.device}.")
    return True


def render(model: ModelAdapter) -> None:
    """The whole view for one generation model (called by the Explain page)."""
    st.caption("Type a prompt; the model continues it. Pick methods and press Explain to see "
               "which prompt tokens drove each generated token.")
    req, continuation = inputs_and_continuation(model)
    seed = widgets.seed_widget()
    st.subheader("Explanations")
    selected, params = generation_inputs.method_picker(model)
    key = None
    if req is not None and continuation is not None and selected:
        key = state.params_json({"model": cache.key(model), "request": req.__dict__,
                                 "continuation": continuation, "methods": selected,
                                 "params": params, "seed": seed})
        if st.button("Explain", type="primary", key=state.GEN_RUN, icon=":material/play_arrow:"):
            run(model, req, continuation, selected, params, seed, key)
    results = state.get(state.GEN_RESULTS)
    if not results or results["model"] != cache.key(model):
        st.info("Press **Explain** to run the chosen methods on this prompt.")
        return
    show_results(model, results, key)

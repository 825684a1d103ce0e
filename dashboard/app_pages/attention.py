"""Attention page (transformers): layers x heads grid, one head's matrix, rollout, one token's view."""
from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, figures, inputs, state, widgets
from dashboard.figures import plot
from explainers import Attribution, get_method
from models import HasAttention
from models.errors import USER_ERRORS

METHOD = "attention_rollout"  # its result carries both views: extras "attention" and "rollout"


def head_views(attn: np.ndarray, roll: np.ndarray, tokens: tuple[str, ...]) -> None:
    """One layer/head matrix and one token's row; the rollout matrix and the same token's row."""
    layers, heads = attn.shape[:2]
    c1, c2, c3 = st.columns(3)
    layer = c1.selectbox("Layer", range(layers), index=layers - 1, key=state.ATT_LAYER)
    head = c2.selectbox("Head", ["mean", *range(heads)], key=state.ATT_HEAD)
    token = c3.selectbox("From token", range(len(tokens)), key=state.ATT_TOKEN,
                         format_func=lambda i: f"{i}: {tokens[i]}")
    matrix = attn[layer].mean(axis=0) if head == "mean" else attn[layer, head]
    left, right = st.columns(2)
    left.plotly_chart(plot("attention_matrix")(matrix, tokens, f"layer {layer}, head {head}"),
                      key="att::matrix")
    right.plotly_chart(plot("attention_from_token")(
        matrix, tokens, token, f"attention from {tokens[token]} (layer {layer}, head {head})"),
        key="att::from_token")
    left, right = st.columns(2)
    left.plotly_chart(plot("attention_matrix")(roll, tokens, "attention rollout (all layers)"),
                      key="att::rollout")
    right.plotly_chart(plot("attention_from_token")(roll, tokens, token,
                                                    f"rollout from {tokens[token]}"),
                       key="att::rollout_token")


def rollout_result(model: HasAttention, inp: inputs.UserInput) -> Attribution:
    """explain(model, raw, "attention_rollout") at its defaults, cached like every result (the
    same cache entry as the Explain page's run of the method at its defaults)."""
    defaults = {p.name: p.default for p in get_method(METHOD).params_for(model)}
    return cache.explain(cache.key(model), inp.key, METHOD, None, state.params_json(defaults),
                         inp.raw)


def render() -> None:
    model = widgets.model_sidebar()
    st.title("Attention")
    if model is None:
        return
    if not isinstance(model, HasAttention):
        st.info(f"{model.info.name} has no attention weights: choose a transformer model "
                "(sentiment-minilm) in the sidebar.")
        return
    try:
        inp = inputs.input_section(model)
        a = rollout_result(model, inp) if inp else None
    except USER_ERRORS as exc:
        st.error(str(exc))
        return
    if a is None:
        return
    attn, roll, tokens = a.extras["attention"], a.extras["rollout"], figures.attention_tokens(a)
    st.caption(f"{attn.shape[0]} layers x {attn.shape[1]} heads over {len(tokens)} tokens. "
               "Rows attend to columns; hover for weights. Scores: the first token's row of "
               "the rollout.")
    figures.render(model, inp, a, "att")
    head_views(attn, roll, tokens)


render()

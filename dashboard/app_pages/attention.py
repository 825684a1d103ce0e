"""Attention page (transformers): layers x heads grid, one head's matrix, rollout, one token's view."""
from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import cache, inputs, state, widgets
from dashboard.figures import plot
from dashboard.runner import USER_ERRORS


def rollout(attn: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): heads averaged, residual added, layers chained."""
    t = attn.shape[-1]
    out = np.eye(t)
    for layer in attn:
        a = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(t)
        out = (a / a.sum(axis=-1, keepdims=True)) @ out
    return out


def head_views(attn: np.ndarray, tokens: tuple[str, ...]) -> None:
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
    roll = rollout(attn)
    left, right = st.columns(2)
    left.plotly_chart(plot("attention_matrix")(roll, tokens, "attention rollout (all layers)"),
                      key="att::rollout")
    right.plotly_chart(plot("attention_from_token")(roll, tokens, token,
                                                    f"rollout from {tokens[token]}"),
                       key="att::rollout_token")


def render() -> None:
    model = widgets.model_sidebar()
    st.title("Attention")
    if model is None:
        return
    if not hasattr(model, "attention"):
        st.info(f"{model.info.name} has no attention weights: choose a transformer model "
                "(sentiment-minilm) in the sidebar.")
        return
    try:
        inp = inputs.input_section(model)
        attn, tokens = cache.attention(cache.key(model), inp.key, inp.raw) if inp else (None, ())
    except USER_ERRORS as exc:
        st.error(str(exc))
        return
    if attn is None:
        return
    st.caption(f"{attn.shape[0]} layers x {attn.shape[1]} heads over {len(tokens)} tokens. "
               "Rows attend to columns; hover for weights.")
    st.plotly_chart(plot("attention_grid")(attn, tokens), key="att::grid")
    head_views(attn, tokens)




render()

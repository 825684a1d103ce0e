"""One path from a result to its figures: draw exactly what Attribution.plots() names."""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from dashboard import cache, state
from dashboard.inputs import UserInput, picture
from explainers import Attribution, plots
from explainers.baselines import SPECIAL
from models import ModelAdapter, UnknownNameError
from models.errors import USER_ERRORS

IMAGE_PLOTS = ("heatmap_overlay", "raw_map")  # drawn under "Image part" for a fusion result
UNIT_PLOTS = ("token_highlight", "top_units_bar")  # under "Text part"
TOP_K = 10
OPACITY = 0.5  # the heatmap overlay's default opacity


def plot(name: str) -> Callable[..., Any]:
    """The named plot function of explainers.plots (UnknownNameError naming the ones there)."""
    fn = getattr(plots, name, None)  # a module attribute, not a model capability
    if fn is None or not callable(fn):
        raise UnknownNameError(f"explainers.plots has no {name!r}; it has: {plots.__all__}")
    return fn


def square(fig: Any, height: int = 380) -> Any:
    """A fixed height so square images fill the panel instead of shrinking to a thumbnail."""
    fig.update_layout(height=height)
    return fig


def render(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> list[str]:
    """Draw every figure a.plots() names, in its order; returns the names drawn."""
    drawn: list[str] = []
    parts: set[str] = set()
    for name in a.plots():
        part = "Image part" if name in IMAGE_PLOTS else "Text part" if name in UNIT_PLOTS else ""
        if a.kind == "fusion" and part and part not in parts:
            st.markdown(f"**{part}**")
            parts.add(part)
        DRAW.get(name, _generic)(model, inp, a, f"{key}::{name}")
        drawn.append(name)
    return drawn


def first_plot(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """A result's first plot with no widgets, for a preview redrawn while a run goes on: the
    overlay at its default opacity, any other plot as plot(name)(a)."""
    name = a.plots()[0]
    if name == "heatmap_overlay":
        _overlay_at(model, inp, a, key, OPACITY)
    else:
        _generic(model, inp, a, f"{key}::{name}")


def _overlay(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """The heatmap over what the model sees, with its opacity slider."""
    opacity = st.slider("Heatmap opacity", 0.0, 1.0, OPACITY, 0.05, key=state.widget_key(
        state.OPACITY, key))
    _overlay_at(model, inp, a, key, opacity)


def _overlay_at(model: ModelAdapter, inp: UserInput, a: Attribution, key: str,
                opacity: float) -> None:
    image = picture(model, inp.raw, inp.key)
    st.plotly_chart(square(plot("heatmap_overlay")(a, image, opacity)), key=key)


def _raw_map(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    st.plotly_chart(square(plot("raw_map")(a), 300), key=key)


def _tokens(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    st.markdown(plot("token_highlight")(a), unsafe_allow_html=True)  # escaped by the plot


def without_special(a: Attribution) -> tuple[Attribution, list[tuple[str, float]]]:
    """The result without special tokens ([CLS], [SEP], <s>...: the plain-token ones kept),
    and the (token, score) pairs left out; unchanged when it has none."""
    fusion = isinstance(a.values, dict)
    units = tuple(a.units.get("text", ())) if fusion else tuple(a.units)
    values = np.asarray(a.values["text"] if fusion else a.values, dtype=float)
    special = [bool(SPECIAL.match(str(u))) for u in units]
    if not any(special) or all(special) or values.shape != (len(units),):
        return a, []
    keep = [i for i, s in enumerate(special) if not s]
    left = [(units[i], float(values[i])) for i, s in enumerate(special) if s]
    kept_units, kept_values = tuple(units[i] for i in keep), values[keep]
    if fusion:
        return replace(a, values={**a.values, "text": kept_values},
                       units={**a.units, "text": kept_units}), left
    return replace(a, values=kept_values, units=kept_units), left


def _top_bar(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """The top units by |score|; special tokens left out by default (they carry the residual
    path in rollout and dominate it), with their scores said in a caption."""
    shown, left = without_special(a)
    if left and st.checkbox("Include special tokens in the bars",
                            key=state.widget_key(state.SHOW_SPECIAL, key)):
        shown, left = a, []
    st.plotly_chart(plot("top_units_bar")(shown, TOP_K), key=key)
    if left:
        listed = ", ".join(f"{html.escape(t)} {v:.3g}" for t, v in left)
        st.caption(f"Left out of the bars: special tokens {listed} (shown in the highlight).")


def _waterfall(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    row = inp.raw if isinstance(inp.raw, dict) else {}
    values = [row.get(u) for u in a.units] if row else None
    st.plotly_chart(plot("waterfall")(a, 12, feature_values=values), key=key)


def attention_tokens(a: Attribution) -> tuple[str, ...]:
    """The tokens an attention result's [L, H, T, T] runs over: the input's, and for a language
    model the prompt's followed by the continuation's."""
    units = a.units.get("text", ()) if isinstance(a.units, dict) else a.units
    return tuple(units) + tuple(a.extras.get("output_tokens", ()) if a.kind == "generation"
                                else ())


def _attention_grid(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    st.plotly_chart(plot("attention_grid")(np.asarray(a.extras["attention"]),
                                           attention_tokens(a)), key=key)


def _modality_share(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """Share of |attribution| and of the output change under modality ablation, as bars."""
    try:
        shares = cache.modality_share(*result_args(model, inp, a), inp.raw, a)
    except USER_ERRORS as exc:
        st.error(f"Modality share failed: {exc}")
        return
    left, right = st.columns(2)
    attribution = plot("modality_share")(shares["attribution"])
    attribution.update_layout(title="share of |attribution|")  # fits half a panel
    left.plotly_chart(attribution, key=key)
    ablation = plot("modality_share")(shares["ablation"])
    ablation.update_layout(title="share of output change")
    right.plotly_chart(ablation, key=key + "_ablation")
    st.caption("Left: share of total |attribution|. Right: share of the drop in p(target) when "
               "the modality is removed (black image / all-[PAD] text).")
    p = shares["probability"]
    st.caption(f"p({html.escape(a.target_label)}): both {p['full']:.1%} · image only "
               f"{p['image_only']:.1%} · text only {p['text_only']:.1%} · neither "
               f"{p['neither']:.1%}")


def _generic(model: ModelAdapter, inp: UserInput, a: Attribution, key: str) -> None:
    """A plot this module has no special call for: plot(name)(a), a Figure or escaped HTML."""
    out = plot(key.rsplit("::", 1)[-1])(a)
    if isinstance(out, str):
        st.markdown(out, unsafe_allow_html=True)  # plots escape every user string
    else:
        st.plotly_chart(out, key=key)


def result_args(model: ModelAdapter, inp: UserInput, a: Attribution) -> tuple[Any, ...]:
    """The plain cache key of a follow-up computation on a result: model, input, method,
    target (resolved), the method's resolved params."""
    return cache.key(model), inp.key, a.method, int(a.target), state.params_json(a.params)


DRAW: dict[str, Callable[[ModelAdapter, UserInput, Attribution, str], None]] = {
    "heatmap_overlay": _overlay, "raw_map": _raw_map, "token_highlight": _tokens,
    "top_units_bar": _top_bar, "waterfall": _waterfall, "attention_grid": _attention_grid,
    "modality_share": _modality_share,
}

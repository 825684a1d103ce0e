"""Shared widgets: the sidebar model picker and card, the target picker, and Param-spec widgets."""
from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import cache, state
from explainers import Explainer, Param
from models import GlassboxError, HasTargetLayer, ModelAdapter

DEFAULT_MODELS = ("mnist-cnn", "breast-cancer-mlp")


def default_model(names: list[str]) -> str:
    """The first default model that loads (so the first page is useful), else the first name."""
    for name in DEFAULT_MODELS:
        if name in names:
            try:
                cache.get_model(name)
            except (GlassboxError, ValueError, ImportError, OSError):
                continue  # not built yet: try the next default
            return name
    return names[0]


def model_options() -> dict[str, str]:
    """Load key -> display name: the built-ins, the models this session loaded, then the
    compressed copies it kept (plain "kept:<sha256>" keys, see dashboard/cache.py)."""
    options = {name: name for name in cache.model_names()}
    for name, path in (state.get(state.USER_MODELS) or {}).items():
        options[str(path)] = f"{name} (yours)"
    for name, model in cache.kept_models().items():
        options[cache.register(model)] = f"{name} (kept)"
    return options


def model_sidebar() -> ModelAdapter | None:
    """Sidebar: choose a model, show its card. None (with an error shown) if it fails to load."""
    options = model_options()
    if state.get(state.MODEL) not in options:
        state.put(state.MODEL, default_model(list(options)))
    name = st.sidebar.selectbox("Model", list(options), key=state.MODEL, format_func=options.get,
                                help="Built-in demo models, and any model you loaded.")
    try:
        with st.spinner(f"Loading {options[name]}..."):
            model = cache.resolve(name)
    except (GlassboxError, ValueError, ImportError, OSError) as exc:
        st.sidebar.error(f"Could not load {options[name]}: {exc}")
        return None
    model_card(model)
    return model


def model_card(model: ModelAdapter) -> None:
    """Data, accuracy, classes and device of the chosen model, in the sidebar."""
    info, card = model.info, dict(model.info.card)
    box = st.sidebar.container(border=True)
    box.markdown(f"**{info.name}** · {info.modality} · device `{model.device}`")
    classes = ", ".join(info.class_names[:10]) + (" ..." if info.num_classes > 10 else "")
    if info.modality == "generation":  # a language model: no classes, its perplexity instead
        ppl = card.get("heldout_perplexity", card.get("perplexity"))
        box.caption("Language model" + (f" · held-out perplexity {ppl:.1f}"
                                         if isinstance(ppl, (int, float)) else ""))
    else:
        box.caption(f"{info.num_classes} classes: {classes}")
    acc = card.get("accuracy", card.get("heldout_accuracy"))
    if isinstance(acc, float):
        box.caption(f"Held-out accuracy: {acc:.1%}" if acc <= 1 else f"Accuracy: {acc}")
    with box.expander("Model card"):
        if info.description:
            st.caption(info.description)
        split = card.get("split")
        if isinstance(split, dict) and "held_out" in split:
            st.caption(f"Split: {split.get('train', '?')} train / {split['held_out']} held out")
        for field in ("data", "credits", "licence"):
            if isinstance(card.get(field), str):
                st.caption(f"{field.capitalize()}: {card[field]}")


def target_picker(model: ModelAdapter, predicted: int | None) -> int | None:
    """Sidebar: the class to explain; None means the predicted class."""
    names = model.info.class_names
    options = [-1, *range(len(names))]
    if state.get(state.TARGET) not in options:
        state.put(state.TARGET, -1)

    def label(i: int) -> str:
        if i == -1:
            return "Predicted class" + (f" ({names[predicted]})" if predicted is not None else "")
        return f"{i}: {names[i]}"

    choice = st.sidebar.selectbox("Target class", options, format_func=label, key=state.TARGET,
                                  help="Which class the explanation is for.")
    return None if choice == -1 else int(choice)


def seed_widget() -> int:
    """Sidebar: the seed passed to stochastic methods (so results repeat)."""
    if state.SEED not in st.session_state:
        state.put(state.SEED, 0)
    return int(st.sidebar.number_input("Seed (stochastic methods)", 0, 2**31 - 1, key=state.SEED,
                                       step=1))


def param_widget(method: str, p: Param, where: Any = st) -> Any:
    """One widget for one parameter, built from its spec; keyed by method and name."""
    key = state.widget_key("param", method, p.name)
    if key not in st.session_state or not fits(p, st.session_state[key]):
        # default through session state: the value persists (and one left by another model's
        # spec of the same method, e.g. a choice it does not offer, is reset)
        state.put(key, p.default if p.kind != "str" else str(p.default))
    if p.kind == "bool":
        return where.checkbox(p.name, help=p.help, key=key)
    if p.kind == "choice":
        return where.selectbox(p.name, list(p.choices), help=p.help, key=key)
    if p.kind in ("int", "float"):
        cast = int if p.kind == "int" else float
        state.put(key, cast(st.session_state[key]))
        kwargs: dict[str, Any] = {"help": p.help, "key": key}
        if p.min is not None:
            kwargs["min_value"] = cast(p.min)
        if p.max is not None:
            kwargs["max_value"] = cast(p.max)
        kwargs["step"] = cast(p.step) if p.step is not None else cast(1 if p.kind == "int" else 0.1)
        return where.number_input(p.name, **kwargs)
    return where.text_input(p.name, help=p.help, key=key)


def fits(p: Param, value: Any) -> bool:
    """Whether a stored widget value is valid for this spec (kind, choices, range)."""
    if p.kind == "choice":
        return value in p.choices
    if p.kind == "bool":
        return isinstance(value, bool)
    if p.kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return (p.min is None or value >= p.min) and (p.max is None or value <= p.max)
    return isinstance(value, str)


def layer_widget(method: str, p: Param, model: HasTargetLayer, where: Any = st) -> str:
    """Grad-CAM style 'layer' parameters: a choice among the model's conv layers."""
    key = state.widget_key("param", method, p.name)
    layers = ["", *model.conv_layers()]
    if state.get(key) not in layers:
        state.put(key, "")
    default = model.default_target_layer
    return where.selectbox(p.name, layers, key=key, help=p.help,
                           format_func=lambda n: n or f"default ({default})")


def param_widgets(method: Explainer, where: Any = st, model: ModelAdapter | None = None,
                  skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Widgets for every parameter of a method (its spec for this model) except `skip`;
    returns {name: value}."""
    out = {}
    specs = method.params_for(model) if model is not None else method.params
    for p in (p for p in specs if p.name not in skip):
        if p.name == "layer" and isinstance(model, HasTargetLayer):  # "" = the model's default
            out[p.name] = layer_widget(method.name, p, model, where)
        else:
            out[p.name] = param_widget(method.name, p, where)
    return out

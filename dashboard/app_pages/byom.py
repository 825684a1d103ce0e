"""Bring your own model: upload a model (+ sidecar or form), see the preflight, register it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cache, state
from explainers.preflight import Preflight, preflight
from models import GlassboxError, InputError
from models.user import ARCHITECTURES, parse_sidecar
from models.user.safety import check_bytes, max_upload_bytes
from models.user.sidecar import parse_text

# session keys of this page (all in dashboard/state.py)
USER_MODELS = state.USER_MODELS  # dict: display name -> path (load with cache.get_model(path))
PREFLIGHTS = state.BYOM_PREFLIGHTS  # dict: path -> Preflight
UPLOAD, SIDECAR_UPLOAD, LOAD = state.BYOM_UPLOAD, state.BYOM_SIDECAR, state.BYOM_LOAD
FORM = state.BYOM_FORM  # prefix of the form widgets
STORE_ENV = "GLASSBOX_USER_MODEL_DIR"
MODEL_TYPES = ["pt", "pth", "ts", "jit", "pt2", "safetensors", "zip", "bin"]


def store_dir() -> Path:
    """Where uploads are kept (content-addressed), $GLASSBOX_USER_MODEL_DIR or a temp folder."""
    return Path(os.environ.get(STORE_ENV) or Path(tempfile.gettempdir()) / "glassbox-user-models")


def save_upload(name: str, data: bytes, sidecar: dict[str, Any]) -> Path:
    """Write the model and its sidecar under a folder named by their joint hash; return the path."""
    side = json.dumps(sidecar, sort_keys=True).encode()
    folder = store_dir() / hashlib.sha256(data + b"\0" + side).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    safe = Path(name).name.replace(" ", "_") or "model.bin"
    path = folder / safe
    path.write_bytes(data)
    if sidecar:
        (folder / (path.stem + ".glassbox.json")).write_text(side.decode())
    return path


def _numbers(text: str) -> list[float] | None:
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()]
    return [float(p) for p in parts] if parts else None


def _names(text: str) -> list[str] | None:
    parts = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    return parts or None


def form_values() -> dict[str, Any]:
    """What cannot be inferred from the file: the form's filled fields only."""
    with st.expander("Describe the model (what the file cannot say)", expanded=False):
        c1, c2, c3 = st.columns(3)
        modality = c1.selectbox("Modality", ["(from file)", "image", "text", "tabular"], key=f"{FORM}_modality")
        arch = c2.selectbox("Architecture (weights-only files)", ["(none)", *sorted(ARCHITECTURES)],
                            key=f"{FORM}_arch")
        name = c3.text_input("Display name", key=f"{FORM}_name")
        c1, c2, c3 = st.columns(3)
        height = c1.number_input("Input height", 0, 4096, 0, key=f"{FORM}_h", help="0 = from the file")
        width = c2.number_input("Input width", 0, 4096, 0, key=f"{FORM}_w", help="0 = from the file")
        channels = c3.selectbox("Channels", ["(from file)", 1, 3], key=f"{FORM}_c")
        c1, c2 = st.columns(2)
        mean = c1.text_input("Normalisation mean", key=f"{FORM}_mean", placeholder="0.485, 0.456, 0.406")
        std = c2.text_input("Normalisation std", key=f"{FORM}_std", placeholder="0.229, 0.224, 0.225")
        classes = st.text_area("Class names (comma or line separated)", key=f"{FORM}_classes")
        features = st.text_area("Feature names (tabular)", key=f"{FORM}_features")
    out: dict[str, Any] = {
        "modality": None if modality.startswith("(") else modality,
        "architecture": None if arch.startswith("(") else arch,
        "name": name.strip() or None,
        "input_size": [int(height), int(width)] if height and width else None,
        "channels": None if isinstance(channels, str) else channels,
        "class_names": _names(classes), "feature_names": _names(features),
    }
    try:
        out["mean"], out["std"] = _numbers(mean), _numbers(std)
    except ValueError:
        st.error(f"mean/std must be numbers separated by commas; got {mean!r} / {std!r}")
        out["mean"] = out["std"] = None
    return {k: v for k, v in out.items() if v is not None}


SIDECAR_MAX_MB = 1  # a sidecar is a few lines of JSON/YAML


def read_sidecar_upload(upload: Any) -> dict[str, Any]:
    if upload is None:
        return {}
    raw = upload.getvalue()
    if len(raw) > SIDECAR_MAX_MB << 20:
        raise InputError(f"{upload.name} is {len(raw) / (1 << 20):.1f} MB; a sidecar is limited "
                         f"to {SIDECAR_MAX_MB} MB")
    data = parse_text(raw.decode("utf-8", errors="replace"), upload.name) or {}
    parse_sidecar(data)  # validated here so its errors name the sidecar, not the model
    return dict(data)


def load_and_check(upload: Any, sidecar: dict[str, Any]) -> tuple[str, Preflight]:
    """Save, load (shared cache keyed by path), run the preflight; raises GlassboxError."""
    data = upload.getvalue()
    check_bytes(data, upload.name)
    parse_sidecar(sidecar)  # validate before anything is written
    path = save_upload(upload.name, data, sidecar)
    try:
        model = cache.get_model(str(path))
    except Exception:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return str(path), preflight(model)


def show_preflight(p: Preflight) -> None:
    (st.success if p.forward_ok else st.error)(p.forward_note)
    facts = p.facts
    if facts.get("compiled"):
        st.info(f"Compiled model ({facts['compiled']}): methods that hook layers are not offered.")
    if facts.get("embedding_layer"):
        st.caption(f"Text methods attribute on the embedding layer `{facts['embedding_layer']}`.")
    if facts.get("conv_layers"):
        st.caption(f"Grad-CAM layer: `{facts.get('target_layer')}`; candidates: "
                   + ", ".join(f"`{n}`" for n in facts["conv_layers"][-8:]))
    if "attention" in facts:
        att = facts["attention"]
        st.caption(f"Attention: {'available ' + str(att) if isinstance(att, list) else att}")
    rows = pd.DataFrame([{"method": r["method"], "works": "yes" if r["works"] else "no",
                          "why not / notes": r["notes"]} for r in p.table()])
    st.table(rows.style.hide(axis="index"))  # wraps each reason (a data grid cut them off)


def registered_list() -> None:
    models: dict[str, str] = st.session_state.get(USER_MODELS, {})
    if not models:
        return
    st.subheader("Your models in this session")
    for name, path in list(models.items()):
        c1, c2 = st.columns([4, 1])
        c1.markdown(f"**{name}** · `{Path(path).name}`")
        if c2.button("Remove", key=f"byom_remove::{name}"):
            models.pop(name)
            st.session_state[USER_MODELS] = dict(models)
            st.rerun()


def render() -> None:
    st.title("Bring your own model")
    st.warning(
        "TorchScript (.pt/.ts) and torch.export (.pt2) archives carry code from their author: "
        "load only files you trust. Pickled full models (torch.save(model)) are refused: they "
        "can run any code when loaded. Export with torch.jit.save, torch.export.save, or save "
        "the weights (safetensors) and name the architecture.", icon=":material/warning:")
    st.caption(f"Formats: TorchScript, torch.export (.pt2), safetensors or a weights-only state "
               f"dict of a built-in architecture, a Hugging Face folder as a .zip. Upload limit "
               f"{max_upload_bytes() >> 20} MB ($GLASSBOX_MAX_UPLOAD_MB).")
    upload = st.file_uploader("Model file", type=MODEL_TYPES, key=UPLOAD,
                              max_upload_size=max(1, max_upload_bytes() >> 20))
    side_upload = st.file_uploader("Sidecar (optional, JSON or YAML)", type=["json", "yaml", "yml"],
                                   key=SIDECAR_UPLOAD, max_upload_size=SIDECAR_MAX_MB)
    form = form_values()
    if st.button("Load and check", type="primary", key=LOAD, disabled=upload is None):
        try:
            sidecar = {**read_sidecar_upload(side_upload), **form}
            with st.spinner("Loading the model and running the preflight..."):
                path, result = load_and_check(upload, sidecar)
        except (GlassboxError, ValueError, OSError, RuntimeError) as exc:
            st.error(f"Could not load {upload.name}: {exc}")
        else:
            name = sidecar.get("name") or Path(path).stem
            st.session_state[PREFLIGHTS] = {**st.session_state.get(PREFLIGHTS, {}), path: result}
            if result.forward_ok:
                st.session_state[USER_MODELS] = {**st.session_state.get(USER_MODELS, {}), name: path}
                st.success(f"Registered {name}: pick it in the sidebar like any other model.")
            else:
                st.error(f"{name} loaded but a forward pass failed, so it was not registered.")
                show_preflight(result)
    for name, path in st.session_state.get(USER_MODELS, {}).items():
        result = st.session_state.get(PREFLIGHTS, {}).get(path)
        if result is not None:
            with st.expander(f"Preflight: {name}", expanded=True):
                show_preflight(result)
    registered_list()


render()

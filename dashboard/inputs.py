"""Input widgets fitting each modality: image (sample/upload/draw), text, tabular row, fusion."""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image

from dashboard import cache, state
from models import InputError, ModelAdapter
from models.errors import USER_ERRORS
from models.images import MAX_PIXELS, decode_image
from models.tables import check_columns, ignored_notice, row_floats
from models.text_fit import Fitted, decode_text, fit_text

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]
MAX_IMAGE_PIXELS = MAX_PIXELS
MAX_TEXT_CHARS = 2_000_000  # the box's own cap; what the model reads is fit_text's rule
# Streamlit's own cap (.streamlit/config.toml) is sized for model archives; inputs get a smaller one
MAX_INPUT_MB = float(os.environ.get("GLASSBOX_MAX_INPUT_MB", 20))


def check_size(data: bytes, name: str) -> None:
    """InputError when an uploaded input file is over MAX_INPUT_MB."""
    if len(data) > MAX_INPUT_MB * 1e6:
        raise InputError(f"{name!r} is {len(data) / 1e6:.1f} MB; inputs are limited to "
                         f"{MAX_INPUT_MB:g} MB (GLASSBOX_MAX_INPUT_MB)")


def upload_mb() -> int:
    """The browser-side cap for input uploaders (whole MB); check_size enforces it again here."""
    return max(1, int(MAX_INPUT_MB))
GALLERY = 8
DEFAULT_TEXT = "A warm, funny and beautifully acted film that I would happily watch again."


@dataclass(frozen=True)
class UserInput:
    """One raw input with a plain cache key and a short label for captions."""

    raw: Any
    key: str
    label: str
    true_class: int | None = None


def read_image(data: bytes, name: str) -> Image.Image:
    """Decode uploaded bytes (models.images: size checked before decoding, 16-bit scaled, first
    frame, EXIF upright) into RGB; InputError (one line) if unreadable. Notices are shown."""
    check_size(data, name)
    decoded = decode_image(data, name)
    for line in decoded.notices:
        st.warning(line)
    return decoded.image.convert("RGB")


def read_text(data: bytes, name: str) -> str:
    """Decode an uploaded .txt as UTF-8; InputError (naming the bad byte) if it is not."""
    check_size(data, name)
    return decode_text(data, repr(name))


def canvas_to_digit(rgba: np.ndarray | None) -> np.ndarray | None:
    """A canvas drawing -> 28x28 uint8 digit centred like MNIST (20x20 box); None if blank."""
    if rgba is None:
        return None
    gray = np.asarray(rgba)[..., :3].max(axis=-1).astype(np.uint8)
    ys, xs = np.nonzero(gray > 20)
    if len(ys) == 0:
        return None
    crop = Image.fromarray(gray[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
    scale = 20 / max(crop.size)
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    digit = crop.resize(size, Image.LANCZOS)
    canvas = Image.new("L", (28, 28))
    canvas.paste(digit, ((28 - size[0]) // 2, (28 - size[1]) // 2))
    return np.asarray(canvas)


def is_digit_model(model: ModelAdapter) -> bool:
    return tuple(model.info.class_names) == tuple(str(i) for i in range(10))


def _part(raw: Any, part: str) -> Any:
    return raw[part] if isinstance(raw, dict) and part in raw else raw


def picture(model: ModelAdapter, raw: Any, key: str) -> np.ndarray:
    """What the model sees (uint8 HxWx3) for an image raw or a fusion pair: computed once per
    model and input key (cache.picture), however many thumbnails and overlays show it."""
    if model.info.modality == "fusion":
        raw = {"image": _part(raw, "image"), "text": _part(raw, "text")
               if isinstance(raw, dict) else ""}
    return cache.picture(cache.key(model), key, model, raw)


def sample_key(i: int) -> str:
    """The plain input key of the model's bundled sample i."""
    return state.digest(f"sample:{i}")


def sample_label(model: ModelAdapter, i: int, y: int) -> str:
    return f"#{i} · true: {model.info.class_names[y]}"


# ---------------------------------------------------------------- images
def _pick_sample(i: int) -> None:
    st.session_state[state.IMAGE_SAMPLE] = i


def image_gallery(model: ModelAdapter, samples: list, n: int = GALLERY) -> UserInput | None:
    """Thumbnails of the first n samples (click to pick) and a selectbox over all of them."""
    if not samples:
        st.info("This model has no bundled samples: upload an image instead.")
        return None
    if state.get(state.IMAGE_SAMPLE) not in range(len(samples)):
        state.put(state.IMAGE_SAMPLE, 0)
    cols = st.columns(min(n, len(samples)))
    for i, col in enumerate(cols):
        raw, y = samples[i]
        col.image(picture(model, raw, sample_key(i)), width="stretch")
        col.button(model.info.class_names[y][:12], key=state.widget_key("pick", i),
                   on_click=_pick_sample, args=(i,), width="stretch")
    i = st.selectbox("Sample", range(len(samples)), key=state.IMAGE_SAMPLE,
                     format_func=lambda j: sample_label(model, j, samples[j][1]))
    raw, y = samples[i]
    st.image(picture(model, raw, sample_key(i)), width=120,  # the one picked, also from the list
             caption=f"chosen: {sample_label(model, i, y)}")
    return UserInput(raw, sample_key(i), sample_label(model, i, y), y)


def image_upload(model: ModelAdapter) -> UserInput | None:
    """Upload PNG/JPEG/WebP/BMP/GIF; the last good upload survives page switches."""
    up = st.file_uploader("Upload an image", type=IMAGE_TYPES, key=state.IMAGE_UPLOAD,
                          max_upload_size=upload_mb())
    image = None
    if up is not None:
        image = read_image(up.getvalue(), up.name)  # a bad file errors here and is not kept
        state.put_per_model(state.LAST_UPLOAD, cache.key(model), (up.name, up.getvalue()))
    stored = state.per_model(state.LAST_UPLOAD, cache.key(model))
    if stored is None:
        st.info("Upload a photo (PNG, JPEG, WebP, BMP or GIF) to explain it.")
        return None
    name, data = stored
    image = read_image(data, name) if image is None else image  # decoded once per rerun
    key = state.digest(data)
    st.image(picture(model, image, key), caption=f"{name}: what the model sees", width=160)
    return UserInput(image, key, name)


TOOLBAR_ROOM = 12  # px more above the canvas: its floating toolbar (~36 px) then clears the caption


def image_draw(model: ModelAdapter) -> UserInput | None:
    """Draw a digit on a canvas (white on black, like MNIST)."""
    from streamlit_drawable_canvas import st_canvas  # needs a Streamlit runtime to import

    st.caption("Draw one digit, large, in the middle of the box.")
    st.space(TOOLBAR_ROOM)  # the canvas's hover toolbar floats above it: keep it off the caption
    result = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                       height=224, width=224, drawing_mode="freedraw", key=state.CANVAS,
                       return_image_data=True)
    digit = canvas_to_digit(result.image_data)
    if digit is not None:
        state.put_per_model(state.LAST_DRAWING, cache.key(model), digit)
    digit = state.per_model(state.LAST_DRAWING, cache.key(model))
    if digit is None:
        st.info("Draw a digit to explain it.")
        return None
    return UserInput(digit, state.digest(digit.tobytes()), "your drawing")


def image_input(model: ModelAdapter, gallery: int = GALLERY) -> UserInput | None:
    sources = ["Sample", "Upload"] + (["Draw"] if is_digit_model(model) else [])
    if state.get(state.IMAGE_SOURCE) not in sources:
        state.put(state.IMAGE_SOURCE, "Sample")
    source = st.radio("Image", sources, key=state.IMAGE_SOURCE, horizontal=True)
    if source == "Upload":
        return image_upload(model)
    if source == "Draw":
        return image_draw(model)
    return image_gallery(model, cache.get_samples(cache.key(model), 200), gallery)


# ---------------------------------------------------------------- text
def _set_text(text: str, key: str = state.TEXT) -> None:
    st.session_state[key] = text


def text_input(model: ModelAdapter, default: str | None = None, key: str = state.TEXT
               ) -> UserInput | None:
    """Type or paste, upload a .txt, or click an example sentence (text kept under `key`)."""
    samples = cache.get_samples(cache.key(model), 200)
    examples = list(dict.fromkeys(str(_part(raw, "text")) for raw, _ in samples[:8]))[:4]
    if key not in st.session_state:
        state.put(key, default or (examples[0] if examples else DEFAULT_TEXT))
    if examples:
        st.caption("Examples (click to use):")
        for i, text in enumerate(examples):
            st.button(text[:90] + ("..." if len(text) > 90 else ""), on_click=_set_text,
                      args=(text, key), key=state.widget_key("example", i))
    up = st.file_uploader("...or upload a .txt file", type=["txt"], key=state.TEXT_UPLOAD,
                          max_upload_size=upload_mb())
    if up is not None and state.get(state.TEXT_APPLIED) != up.file_id:
        try:  # a bad file errors here, in place; the box keeps what it held
            apply_upload(model, read_text(up.getvalue(), up.name), key)
            state.put(state.TEXT_APPLIED, up.file_id)
        except InputError as exc:
            st.error(str(exc))
    text = st.text_area("Text", key=key, height=100, max_chars=MAX_TEXT_CHARS)
    if not text.strip():
        raise InputError("the text is empty: type or paste a sentence")
    fit = fit_text(model, text) if model.info.modality != "generation" else Fitted(text)
    # ^ the same rule as the CLI and explain(): cut to the context, saying what was cut
    notice = fit.notice or (state.get(state.TEXT_NOTICE) or {}).get(state.digest(text))
    if notice:
        st.info(notice)
    return UserInput(fit.text, state.digest(fit.text),
                     fit.text[:40] + ("..." if len(fit.text) > 40 else ""))


def apply_upload(model: ModelAdapter, text: str, key: str) -> None:
    """Put an uploaded text into the box, cut to what the model reads (the cut is remembered)."""
    fit = fit_text(model, text)
    if fit.notice:
        notices = dict(state.get(state.TEXT_NOTICE) or {})
        notices[state.digest(fit.text)] = fit.notice
        state.put(state.TEXT_NOTICE, notices)
    _set_text(fit.text, key)


# ---------------------------------------------------------------- tabular
def row_dict(model: ModelAdapter, raw: Any) -> dict[str, float]:
    names = model.info.feature_names
    if isinstance(raw, dict):
        return {n: float(raw[n]) for n in names}
    if isinstance(raw, pd.DataFrame):
        return {n: float(raw.iloc[0][n]) for n in names}
    return {n: float(v) for n, v in zip(names, np.asarray(raw).ravel(), strict=True)}


def edited_row(model: ModelAdapter, base: dict[str, float], key: str) -> dict[str, float]:
    """A one-row table editor; returns the edited row, InputError on an empty cell."""
    df = st.data_editor(pd.DataFrame([base]), key=key, num_rows="fixed", hide_index=True)
    row = df.iloc[0].to_dict()
    return row_floats({str(n): v for n, v in row.items()}, model.info.feature_names)


def csv_rows(model: ModelAdapter, data: bytes, name: str) -> pd.DataFrame:
    """Read an uploaded CSV and check it has every feature column."""
    check_size(data, name)
    try:
        df = pd.read_csv(io.BytesIO(data))
    except pd.errors.EmptyDataError:
        raise InputError(f"{name!r} is empty: no header, no rows") from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"could not read {name!r} as CSV: {' '.join(str(exc).split())}"
                         ) from None
    extra = check_columns([str(c) for c in df.columns], model.info.feature_names, repr(name))
    if extra:
        st.info(ignored_notice(repr(name), extra))
    if df.empty:
        raise InputError(f"{name!r} has a header but no rows")
    return df


FROM_DATASET = "From the Data set page"


def table_input(model: ModelAdapter) -> UserInput | None:
    opened = state.per_model(state.DS_ROW, cache.key(model))  # a row opened on the Data set page
    sources = ["Data set row", "Upload CSV"] + ([FROM_DATASET] if opened else [])
    if state.get(state.TABLE_SOURCE) not in sources:
        state.put(state.TABLE_SOURCE, sources[0])
    source = st.radio("Row", sources, key=state.TABLE_SOURCE, horizontal=True)
    if source == FROM_DATASET:
        base, y = row_dict(model, opened["row"]), opened["true"]
        tag, label = f"ds:{opened['id']}", opened["label"]
    elif source == "Upload CSV":
        up = st.file_uploader("CSV with one column per feature", type=["csv"],
                              key=state.CSV_UPLOAD, max_upload_size=upload_mb())
        if up is None:
            st.info("Upload a CSV whose columns are the model's features.")
            return None
        df = csv_rows(model, up.getvalue(), up.name)
        i = int(st.number_input("Row", 0, len(df) - 1, key=state.CSV_ROW))
        base = row_floats({str(k): v for k, v in df.iloc[i].to_dict().items()},
                          model.info.feature_names, f"row {i}")
        tag, label, y = f"csv:{state.digest(up.getvalue())}:{i}", f"{up.name} row {i}", None
    else:
        samples = cache.get_samples(cache.key(model), 200)
        if state.get(state.TABLE_SAMPLE) not in range(len(samples)):
            state.put(state.TABLE_SAMPLE, 0)
        i = st.selectbox("Sample", range(len(samples)), key=state.TABLE_SAMPLE,
                         format_func=lambda j: sample_label(model, j, samples[j][1]))
        base, y = row_dict(model, samples[i][0]), samples[i][1]
        tag, label = f"sample:{i}", sample_label(model, i, y)
    st.caption("Edit any cell; the prediction updates at once.")
    row = edited_row(model, base, state.widget_key(state.TABLE_EDITOR, cache.key(model), tag))
    edited = row != base
    key = state.digest(json.dumps(row, sort_keys=True))
    return UserInput(row, key, label + (" (edited)" if edited else ""), None if edited else y)


# ---------------------------------------------------------------- dispatch
def input_section(model: ModelAdapter) -> UserInput | None:
    """The input widgets fitting the model; the chosen input is also kept for other pages."""
    try:
        chosen = _modality_input(model)
    except USER_ERRORS as exc:  # one line in place; the last good input (and its results) stay
        st.error(str(exc))
        chosen = state.per_model(state.LAST_GOOD, cache.key(model))
        if chosen is None:
            return None
        st.caption(f"Still showing the last good input: {chosen.label}")
        return chosen
    if chosen is not None:
        state.put(state.CURRENT, {"model": cache.key(model), "key": chosen.key,
                                  "label": chosen.label})
        state.put_per_model(state.LAST_GOOD, cache.key(model), chosen)
    return chosen


def _modality_input(model: ModelAdapter) -> UserInput | None:
    modality = model.info.modality
    if modality == "image":
        return image_input(model)
    if modality == "text":
        return text_input(model)
    if modality == "tabular":
        return table_input(model)
    if modality == "generation":  # a language model's prompt (the same box as its Explain view)
        return text_input(model, "the film is", key=state.GEN_PROMPT)
    return fusion_input(model)


def fusion_input(model: ModelAdapter) -> UserInput | None:
    """Image + text together (e.g. digit-text-fusion): a digit (sample/upload/draw) and a phrase
    kept apart from the text models' box, so a film review does not land in here."""
    left, right = st.columns(2)
    with left:  # half the width: half as many thumbnails, so each stays legible
        image = image_input(model, gallery=GALLERY // 2)
    with right:
        text = text_input(model, key=state.FUSION_TEXT)
    if image is None or text is None:
        return None
    raw = {"image": _part(image.raw, "image"), "text": text.raw}
    return UserInput(raw, state.digest(image.key + text.key), f"{image.label} + {text.label}")

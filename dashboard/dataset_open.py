"""Data set page: one job row as a thumbnail, and opening it on the Explain page, explained."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard import cache, inputs, runner, state
from explainers.bounded import memo
from models import ModelAdapter

EXPLAIN_PAGE = "app_pages/explain.py"


@memo(max_entries=4, max_mb=512, copy=False)
def builtin_samples(model_key: str, seed: int) -> list[tuple[Any, int]]:
    """The whole bundled split in the order a job with this seed lists it (read-only, shared)."""
    return list(cache.resolve(model_key).samples(None, seed=seed))


def raw_of(model: ModelAdapter, job: dict[str, Any], row_id: Any) -> Any:
    """The raw input of one row: the bundled sample, or re-read from the job's data."""
    from explainers import dataset

    if job["data"] == "builtin":
        samples = builtin_samples(cache.key(model), int(job.get("seed", 0)))
        i = int(str(row_id).rpartition(":")[2])
        if 0 <= i < len(samples):
            return samples[i][0]
    return dataset.raw_input(Path(job["out"]), row_id, model)


def thumbnail(model: ModelAdapter, raw: Any, row_key: str) -> np.ndarray | None:
    """What the model sees, for image and fusion rows (cached per job row); None otherwise."""
    if model.info.modality not in ("image", "fusion"):
        return None
    return inputs.picture(model, raw, state.digest(f"dataset:{row_key}"))


TABLE_THUMB = 40  # px: the pictures in the predictions table


def thumbnail_url(model: ModelAdapter, job: dict[str, Any], row_id: Any) -> str | None:
    """One row's picture as a small PNG data URL (the predictions table's image column)."""
    import base64

    from PIL import Image

    picture = thumbnail(model, raw_of(model, job, row_id), f"{job['out']}:{row_id}")
    if picture is None:
        return None
    img = Image.fromarray(picture)
    img.thumbnail((TABLE_THUMB, TABLE_THUMB), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def png_of(image: Any) -> tuple[str, bytes]:
    """(file name, PNG bytes) of an image raw (a path is read as it is)."""
    from PIL import Image

    if isinstance(image, (str, Path)) and Path(image).is_file():
        return Path(image).name, Path(image).read_bytes()
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return "input.png", buf.getvalue()


def _bundled_index(model: ModelAdapter, data: str, row_id: Any, raw: Any) -> int | None:
    """The index into the bundled samples the Explain page offers, when this row is one."""
    if data != "builtin":
        return None
    try:  # data-core's ids of the bundled split are "builtin:<index>"
        i = int(str(row_id).rpartition(":")[2])
    except ValueError:
        return None
    samples = cache.get_samples(cache.key(model), 200)
    if not 0 <= i < len(samples):
        return None
    same = samples[i][0]
    if isinstance(raw, str) or isinstance(same, str):
        return i if raw == same else None
    try:
        return i if np.array_equal(np.asarray(raw, dtype=object).astype(float),
                                   np.asarray(same, dtype=object).astype(float)) else None
    except (TypeError, ValueError):
        return i if str(raw) == str(same) else None


def _true(label: Any) -> int | None:
    try:
        return None if label is None or np.isnan(float(label)) else int(label)
    except (TypeError, ValueError):
        return None


def put_input(model: ModelAdapter, job: dict[str, Any], row: dict[str, Any]) -> None:
    """Set the Explain page's input widgets' state to this row (sample, upload, text or row)."""
    mkey, modality = cache.key(model), model.info.modality
    raw = raw_of(model, job, row["id"])
    index = _bundled_index(model, job["data"], row["id"], raw)
    label = f"data set row {row['id']}"
    if modality == "text":
        state.put(state.TEXT, str(raw))
    elif modality == "tabular":
        if index is not None:
            state.put(state.TABLE_SOURCE, "Data set row")
            state.put(state.TABLE_SAMPLE, index)
        else:
            state.put_per_model(state.DS_ROW, mkey, {"row": inputs.row_dict(model, raw),
                                                     "label": label, "true": _true(row.get("label")),
                                                     "id": row["id"]})
            state.put(state.TABLE_SOURCE, inputs.FROM_DATASET)
    else:  # image or fusion
        image = raw.get("image") if isinstance(raw, dict) else raw
        if index is not None and modality == "image":
            state.put(state.IMAGE_SOURCE, "Sample")
            state.put(state.IMAGE_SAMPLE, index)
        else:
            state.put_per_model(state.LAST_UPLOAD, mkey, png_of(image))
            state.put(state.IMAGE_SOURCE, "Upload")
        if modality == "fusion" and isinstance(raw, dict):
            state.put(state.FUSION_TEXT, str(raw.get("text", "")))


def open_in_explain(model: ModelAdapter, job: dict[str, Any], row: dict[str, Any]) -> None:
    """Make this row the Explain page's input, with the job's methods, explained on arrival."""
    put_input(model, job, row)
    available = runner.available_methods(model)
    methods = [m for m in job["methods"] if m in available]
    if methods:
        state.put(state.widget_key(state.METHODS, cache.key(model)), methods)
    state.put(state.TARGET, -1)  # the job explained the predicted class
    state.put(state.EXPLAIN_NOW, True)
    st.switch_page(EXPLAIN_PAGE)

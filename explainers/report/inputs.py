"""Raw inputs <-> JSON-safe records (image as base64 PNG, text as-is, tabular row), both ways."""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import InputError


def _open_image(raw: Any) -> tuple[Any, str]:
    """A PIL image for raw (path, PIL or uint8 array) and how the caller gave it."""
    from PIL import Image

    if isinstance(raw, (str, Path)):
        from models.images import open_exact

        if not Path(raw).is_file():
            raise InputError(f"no such image file: {str(raw)!r}")
        return open_exact(raw), "pil"
    if isinstance(raw, Image.Image):
        return raw, "pil"
    arr = np.asarray(raw)
    if arr.dtype != np.uint8:
        return Image.fromarray(_to_uint8(arr)), "float_array"
    return Image.fromarray(arr.squeeze(-1) if arr.ndim == 3 and arr.shape[-1] == 1 else arr), \
        "array"


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(float)
    a = a * 255.0 if a.size and a.max() <= 1.0 else a
    a = np.clip(a, 0, 255).round().astype(np.uint8)
    return a.squeeze(-1) if a.ndim == 3 and a.shape[-1] == 1 else a


def png_bytes(im: Any) -> bytes:
    """Lossless PNG of a PIL image (mode kept where PNG can hold it)."""
    if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        im = im.convert("RGBA" if "A" in im.mode else "RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def thumbnail_uri(raw_image: Any, size: int = 256) -> str:
    """data: URI of a PNG thumbnail (what the report shows; never a link)."""
    im, _ = _open_image(raw_image)
    im = im.copy()
    im.thumbnail((size, size))
    return "data:image/png;base64," + base64.b64encode(png_bytes(im)).decode("ascii")


def image_record(raw: Any, arrays: dict[str, np.ndarray], key: str) -> dict[str, Any]:
    """{'png_base64', 'raw_type'}; float arrays also go to `arrays[key]` exactly."""
    im, raw_type = _open_image(raw)
    rec = {"png_base64": base64.b64encode(png_bytes(im)).decode("ascii"), "raw_type": raw_type}
    if raw_type == "float_array":
        arrays[key] = np.asarray(raw)
        rec["array_key"] = key
    return rec


def image_from_record(rec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """The raw image back: PIL, uint8 array or the exact float array, as it was given."""
    from PIL import Image

    if rec.get("raw_type") == "float_array":
        return np.asarray(arrays[rec["array_key"]])
    im = Image.open(io.BytesIO(base64.b64decode(rec["png_base64"])))
    im.load()
    return np.asarray(im) if rec.get("raw_type") == "array" else im


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def tabular_record(raw: Any, feature_names: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(raw, dict):
        return {"row": {str(k): _plain(v) for k, v in raw.items()}, "raw_type": "dict"}
    if type(raw).__name__ == "DataFrame":
        if len(raw) != 1:
            raise InputError(f"expected a one-row DataFrame, got {len(raw)} rows")
        return {"row": {str(k): _plain(v) for k, v in raw.iloc[0].to_dict().items()},
                "raw_type": "dict"}
    arr = np.asarray(raw, dtype=float).ravel()
    names = feature_names or tuple(f"x{i}" for i in range(arr.size))
    return {"row": dict(zip(names, arr.tolist(), strict=False)), "values": arr.tolist(),
            "raw_type": "array"}


def input_record(raw: Any, modality: str, feature_names: tuple[str, ...],
                 arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """A JSON-safe record of the raw input that reproduces it exactly."""
    if modality in ("text", "generation"):  # a language model's input is its prompt
        if not isinstance(raw, str):
            raise InputError(f"a {modality} model takes a str, got {type(raw).__name__}")
        return {"kind": "text", "text": raw}
    if modality == "tabular":
        return {"kind": "tabular", **tabular_record(raw, feature_names)}
    if modality == "fusion":
        if not isinstance(raw, dict) or set(raw) != {"image", "text"}:
            raise InputError("a fusion input is a dict {'image': ..., 'text': ...}")
        return {"kind": "fusion", "image": image_record(raw["image"], arrays, "input__image"),
                "text": str(raw["text"])}
    return {"kind": "image", "image": image_record(raw, arrays, "input__image")}


def raw_from_record(rec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """Inverse of input_record."""
    kind = rec.get("kind")
    if kind == "text":
        return rec["text"]
    if kind == "tabular":
        return np.asarray(rec["values"], dtype=float) if rec.get("raw_type") == "array" \
            else dict(rec["row"])
    if kind == "fusion":
        return {"image": image_from_record(rec["image"], arrays), "text": rec["text"]}
    if kind == "image":
        return image_from_record(rec["image"], arrays)
    raise InputError(f"unknown input kind {kind!r}; allowed: image, text, tabular, fusion")


def raw_image(raw: Any, modality: str) -> Any | None:
    """The image part of a raw input (None for text/tabular)."""
    if modality == "fusion" and isinstance(raw, dict):
        return raw.get("image")
    return raw if modality == "image" else None

"""Shared helpers for the built-in models: asset paths, model cards, raw-image conversion."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import InputError, ModelLoadError


def _assets_dir() -> Path:
    """assets/ as installed package data (a checkout, an editable or a regular install alike)."""
    from importlib import resources

    try:
        found = Path(str(resources.files("assets")))
    except ModuleNotFoundError:  # not importable (e.g. models/ copied on its own): beside models/
        found = Path(__file__).resolve().parents[2] / "assets"
    return found


ASSETS = _assets_dir()
WEIGHTS = ASSETS / "weights"
CARDS = ASSETS / "cards"
SAMPLES = ASSETS / "samples"
LABELS = ASSETS / "labels"


def asset(path: Path) -> Path:
    """Return an asset path, or raise ModelLoadError naming the command that rebuilds it."""
    if not path.exists():
        raise ModelLoadError(
            f"missing asset {_shown(path)}; rebuild it with `python -m models.train NAME`"
        )
    return path


def _shown(path: Path) -> str:
    """An asset path as assets/..., however the package was installed."""
    try:
        return str(Path("assets") / path.relative_to(ASSETS))
    except ValueError:
        return str(path)


def load_card(name: str) -> dict[str, Any]:
    """The model card JSON of a built-in model ({} if none was written yet)."""
    path = CARDS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save_card(name: str, card: dict[str, Any]) -> Path:
    """Write a model card (used by models.train)."""
    CARDS.mkdir(parents=True, exist_ok=True)
    path = CARDS / f"{name}.json"
    path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    return path


def check_kind(kind: str, kinds: tuple[str, ...]) -> None:
    """Raise InputError unless kind is one of kinds."""
    if kind not in kinds:
        raise InputError(f"unknown baseline kind {kind!r}; use one of {', '.join(kinds)}")


def to_pil(raw: Any) -> Any:
    """A PIL image (mode L or RGB) from a PIL image, a numpy array (HxW / HxWxC, uint8 or float
    0..1) or a path; files go through models.images (size limit first, 16-bit scaled, EXIF
    upright), and each lossy step is warned as an InputNotice."""
    from PIL import Image

    from models.images import decode_image, normalise, warn_notices

    if isinstance(raw, Image.Image):
        if raw.mode in ("L", "RGB") and getattr(raw, "n_frames", 1) == 1:
            return raw
        return warn_notices(normalise(raw))
    if isinstance(raw, str | Path):
        path = Path(raw)
        if not path.is_file():
            raise InputError(f"image file {str(raw)!r} does not exist")
        return warn_notices(decode_image(path))
    if isinstance(raw, np.ndarray):
        return Image.fromarray(_to_uint8(raw))
    raise InputError(
        f"cannot use a {type(raw).__name__} as an image; give a PIL image, a numpy array "
        "(HxW or HxWxC) or a path to an image file"
    )


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """uint8 HxW or HxWx3/4 from an integer 0..255 or float 0..1 array."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(
            f"image array has shape {arr.shape}; expected HxW, HxWx1, HxWx3 or HxWx4"
        )
    if arr.size == 0:
        raise InputError("image array is empty")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InputError("image array contains NaN or infinite values")
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        return np.clip(arr * scale, 0, 255).round().astype(np.uint8)
    if arr.dtype == np.uint16:  # scaled like a 16-bit PNG, not clipped to white
        import warnings

        from models.errors import InputNotice

        warnings.warn("16-bit image array scaled to 8 bits (65,536 levels -> 256)", InputNotice,
                      stacklevel=3)
        return np.round(arr.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise InputError(f"image array has dtype {arr.dtype}; expected an integer or float array")

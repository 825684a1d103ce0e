"""Decoding images safely: size limit before decoding (bombs), 16-bit scaled, notices for lossy steps."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import InputError, InputNotice

MAX_PIXELS = 40_000_000  # every surface: larger images are refused before their pixels are decoded
MAX_FILE_BYTES = 200_000_000
FORMATS = "PNG, JPEG, WebP, BMP, GIF or TIFF"


@dataclass(frozen=True)
class Decoded:
    """A decoded image (mode L or RGB) and one line per lossy or surprising step taken."""

    image: Any
    notices: tuple[str, ...] = ()


def _open(src: bytes, name: str) -> Any:
    from PIL import Image, UnidentifiedImageError

    fh = io.BytesIO(src)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            img = Image.open(fh)
    except Image.DecompressionBombError as exc:
        raise InputError(f"refused {name}: it declares more than 2 x {Image.MAX_IMAGE_PIXELS:,} "
                         f"pixels (a decompression bomb?); the limit is {MAX_PIXELS // 10**6} MP"
                         ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        why = "the file is empty" if not src else "not an image this reader knows"
        raise InputError(f"could not read {name} as an image ({why}; use {FORMATS})") from exc
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise InputError(f"refused {name}: {w}x{h} is {w * h / 1e6:.0f} MP; the limit is "
                         f"{MAX_PIXELS // 10**6} MP (decoding it would take "
                         f"{w * h * 4 / 2**30:.1f} GiB)")
    if w < 1 or h < 1:
        raise InputError(f"{name} has no pixels ({w}x{h})")
    return img


def _high_depth(img: Any, notices: list[str]) -> Any:
    """16-bit / 32-bit integer and float greyscale -> 8-bit L by scaling, not clipping."""
    from PIL import Image

    arr = np.asarray(img)
    if img.mode.startswith("I;16") or (img.mode == "I" and arr.max(initial=0) <= 65535
                                       and arr.min(initial=0) >= 0):
        out = np.round(arr.astype(np.float64) * 255.0 / 65535.0)
        notices.append("16-bit greyscale scaled to 8 bits (65,536 levels -> 256)")
    else:
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if img.mode == "F" and 0.0 <= lo and hi <= 1.0:
            out, what = arr * 255.0, "0..1"
        else:
            out, what = (arr - lo) * (255.0 / (hi - lo) if hi > lo else 0.0), f"{lo:g}..{hi:g}"
        notices.append(f"{img.mode}-mode image ({what}) scaled to 8 bits")
    return Image.fromarray(np.clip(np.nan_to_num(out), 0, 255).astype(np.uint8), "L")


def _flatten(img: Any, notices: list[str]) -> Any:
    """Any Pillow mode -> L or RGB; transparency goes onto white, with a notice."""
    from PIL import Image

    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        return _high_depth(img, notices)
    if img.mode == "CMYK":
        notices.append("CMYK converted to RGB (colours approximate)")
        return img.convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] < 255:
            notices.append("transparent pixels flattened onto white")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgba = Image.alpha_composite(white, rgba)
        return rgba.convert("L" if img.mode.startswith("L") else "RGB")
    if img.mode in ("L", "RGB"):
        return img
    return img.convert("RGB")  # 1, YCbCr, LAB, HSV, ...


def normalise(img: Any, name: str = "the image") -> Decoded:
    """A PIL image (already opened) -> first frame, EXIF-upright, mode L or RGB, with notices."""
    from PIL import ImageOps

    notices: list[str] = []
    frames = getattr(img, "n_frames", 1)
    if frames > 1:
        img.seek(0)
        notices.append(f"{name} is animated ({frames} frames): the first frame is explained")
    try:
        img.load()
        if img.getexif().get(0x0112, 1) not in (1, None):
            img = ImageOps.exif_transpose(img)
            notices.append(f"{name} rotated upright by its EXIF orientation tag")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        raise InputError(f"could not read {name}: the file is truncated or corrupt ({exc})"
                         ) from exc
    return Decoded(_flatten(img, notices), tuple(notices))


def decode_image(src: bytes | str | Path, name: str | None = None) -> Decoded:
    """Bytes or a path -> Decoded; InputError (one line) for empty, truncated, non-image or
    oversized files (the size is checked from the header, before any pixel is decoded)."""
    name = repr(name if name is not None else (Path(src).name if not isinstance(src, bytes)
                                                else "the upload"))
    if not isinstance(src, bytes | bytearray):  # read once: no file handle stays open
        path = Path(src)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"refused {name}: {path.stat().st_size / 1e6:.0f} MB; image files "
                             f"are limited to {MAX_FILE_BYTES // 10**6} MB")
        src = path.read_bytes()
    return normalise(_open(src, name), name)


def open_exact(path: str | Path) -> Any:
    """The first frame of an image file as stored (mode kept, e.g. a palette GIF), after the same
    checks as decode_image (size from the header first, truncated data): for exact records."""
    name = repr(Path(path).name)
    img = _open(Path(path).read_bytes(), name)
    try:
        img.seek(0)
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"could not read {name}: the file is truncated or corrupt ({exc})"
                         ) from exc
    return img.copy()


def warn_notices(decoded: Decoded) -> Any:
    """The image, after each notice went out as an InputNotice warning (the Python API's way)."""
    for line in decoded.notices:
        warnings.warn(line, InputNotice, stacklevel=3)
    return decoded.image

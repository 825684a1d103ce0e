"""The corpus of broken and hostile inputs (issue 15), generated in code: no binaries committed.

Each Case says which small built-in model takes it, the file name it is uploaded or passed as,
its bytes, and what every surface must do with it: "ok" (runs, nothing said), "notice" (runs
and says what it did) or "error" (one line, nothing runs); `says` is a piece of that line.
"""
from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGE_MODEL, TEXT_MODEL, TABLE_MODEL = "mnist-cnn", "sentiment-bag", "breast-cancer-mlp"


@dataclass(frozen=True)
class Case:
    id: str
    model: str
    file: str
    make: Callable[[], bytes]
    outcome: str  # "ok" | "notice" | "error"
    says: str = ""  # lower-case piece of the notice or error line

    @property
    def data(self) -> bytes:
        return _cached(self.make)


@functools.cache
def _cached(make: Callable[[], bytes]) -> bytes:
    return make()


# ----------------------------------------------------------------- images
def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def digit(mode: str = "L") -> Image.Image:
    """A white bar on black, 28x28 (what mnist-cnn reads), in any mode."""
    arr = np.zeros((28, 28), np.uint8)
    arr[6:22, 12:16] = 255
    return Image.fromarray(arr).convert(mode)


def png_header_only(w: int, h: int) -> bytes:
    """A valid greyscale PNG of w x h black pixels, compressed row by row (tiny file, huge image)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (w + 1)
    body = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    head = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def noise16() -> np.ndarray:
    """16-bit grey noise in the middle of the range (what used to decode as 99.7 % white)."""
    return np.random.default_rng(0).integers(20_000, 45_000, (28, 28)).astype(np.uint16)


def _noise_rgb() -> Image.Image:
    return Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), np.uint8))


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _exif_rotated() -> bytes:
    img = Image.new("L", (40, 20), 0)  # landscape pixels, EXIF says "rotate 90": upright 20x40
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(img, "JPEG", exif=exif.tobytes())


def _animated() -> bytes:
    frames = [digit("RGB"), Image.new("RGB", (28, 28), (255, 255, 255))]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:])


def _rgba() -> bytes:
    img = digit("RGBA")
    img.putalpha(Image.fromarray(np.where(np.asarray(digit()) > 0, 255, 0).astype(np.uint8)))
    return _save(img, "PNG")


IMAGES = [
    Case("zero-bytes", IMAGE_MODEL, "empty.png", lambda: b"", "error", "the file is empty"),
    Case("truncated-png", IMAGE_MODEL, "cut.png",
         lambda: _save(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64), np.uint8)),
                       "PNG")[:400], "error", "truncated"),  # IDAT cut short
    Case("truncated-jpeg", IMAGE_MODEL, "cut.jpg",
         lambda: _cut(_save(_noise_rgb(), "JPEG")), "error", "truncated"),
    Case("not-an-image", IMAGE_MODEL, "notes.png", lambda: b"hello, I am text\n" * 4, "error",
         "not an image"),
    Case("decompression-bomb", IMAGE_MODEL, "bomb.png", lambda: png_header_only(20_000, 20_000),
         "error", "decompression bomb"),
    Case("very-large", IMAGE_MODEL, "huge.png", lambda: png_header_only(10_000, 5_000), "error",
         "the limit is 40 mp"),
    Case("very-wide", IMAGE_MODEL, "wide.png", lambda: png_header_only(20_000, 3), "ok"),
    Case("cmyk", IMAGE_MODEL, "cmyk.jpg", lambda: _save(digit("CMYK"), "JPEG"), "notice", "cmyk"),
    Case("16-bit", IMAGE_MODEL, "grey16.png", lambda: _save(Image.fromarray(noise16()), "PNG"),
         "notice", "16-bit"),
    Case("palette", IMAGE_MODEL, "palette.png", lambda: _save(digit("P"), "PNG"), "ok"),
    Case("rgba", IMAGE_MODEL, "alpha.png", _rgba, "notice", "transparent"),
    Case("greyscale", IMAGE_MODEL, "grey.png", lambda: _save(digit(), "PNG"), "ok"),
    Case("animated-gif", IMAGE_MODEL, "anim.gif", _animated, "notice", "animated (2 frames)"),
    Case("exif-rotated", IMAGE_MODEL, "rotated.jpg", _exif_rotated, "notice", "exif"),
    Case("one-pixel", IMAGE_MODEL, "dot.png", lambda: _save(Image.new("L", (1, 1), 200), "PNG"),
         "ok"),
]

# ----------------------------------------------------------------- texts
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> a great film'
TEXTS = [
    Case("empty", TEXT_MODEL, "empty.txt", lambda: b"", "error", "empty"),
    Case("whitespace", TEXT_MODEL, "blank.txt", lambda: b"  \n\t \n", "error", "empty"),
    Case("non-utf8", TEXT_MODEL, "latin1.txt", lambda: "un film très réussi".encode("latin-1"),
         "error", "not utf-8 text (byte 0xe8"),
    Case("one-megabyte", TEXT_MODEL, "long.txt", lambda: ("a truly great film " * 55_000).encode(),
         "notice", "256 tokens"),
    Case("emoji-rtl", TEXT_MODEL, "mixed.txt",
         lambda: "a great film 😀🎬 فيلم رائع סרט נהדר".encode(), "ok"),
    Case("html-script", TEXT_MODEL, "hostile.txt", lambda: HOSTILE.encode(), "ok"),
    Case("control-chars", TEXT_MODEL, "ctrl.txt", lambda: b"a great\x07 film\x1b[31m\x0b ok",
         "ok"),
]


# ----------------------------------------------------------------- tables
@functools.cache
def table_rows(n: int = 2) -> tuple[tuple[str, ...], list[list[float]]]:
    """(header, rows) of n held-out breast-cancer rows, read from the bundled split."""
    from models import load_model

    model = load_model(TABLE_MODEL)
    names = tuple(str(f) for f in model.info.feature_names)
    rows = [[float(raw[f]) for f in names] for raw, _ in model.samples(n)]
    return names, rows


def csv_bytes(header, rows) -> bytes:
    lines = [",".join(map(str, header))] + [",".join(map(str, r)) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _table(change: str) -> Callable[[], bytes]:
    def make() -> bytes:
        names, rows = table_rows(1)
        header, rows = list(names), [list(r) for r in rows]
        if change == "missing":
            header, rows = header[2:], [r[2:] for r in rows]
        elif change == "extra":
            header, rows = header + ["patient id"], [r + [7] for r in rows]
        elif change == "renamed":
            header = [h.upper() for h in header]
        elif change == "reordered":
            header, rows = header[::-1], [r[::-1] for r in rows]
        elif change == "nan":
            rows[0][3] = "nan"
        elif change == "string":
            rows[0][3] = "twelve"
        elif change == "header-only":
            rows = []
        return csv_bytes(header, rows)
    return make


TABLES = [
    Case("missing-columns", TABLE_MODEL, "missing.csv", _table("missing"), "error",
         "lacks 2 of the model's 30 feature column(s): 'mean radius', 'mean texture'"),
    Case("extra-column", TABLE_MODEL, "extra.csv", _table("extra"), "notice", "'patient id'"),
    Case("renamed-columns", TABLE_MODEL, "upper.csv", _table("renamed"), "error",
         "did you mean 'mean radius' for 'mean radius'"),
    Case("reordered-columns", TABLE_MODEL, "reordered.csv", _table("reordered"), "ok"),
    Case("nan-cell", TABLE_MODEL, "nan.csv", _table("nan"), "error", "column 'mean area'"),
    Case("string-cell", TABLE_MODEL, "words.csv", _table("string"), "error",
         "could not convert 'twelve' to a number in column 'mean area'"),
    Case("empty-csv", TABLE_MODEL, "empty.csv", lambda: b"", "error", "empty"),
    Case("header-only", TABLE_MODEL, "header.csv", _table("header-only"), "error", "no rows"),
]

CORPUS = IMAGES + TEXTS + TABLES
BY_ID = {c.id: c for c in CORPUS}


def ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]

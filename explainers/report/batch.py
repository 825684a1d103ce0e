"""Command-line inputs: one raw input or many (folder of images, CSV/TXT of texts, CSV of rows)."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from explainers.plots import esc
from models.errors import InputError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_TEXT_FILE = 20 * 1024 * 1024


def safe_name(name: str, fallback: str = "input") -> str:
    """A file-name stem with only [A-Za-z0-9._-], no leading dots, at most 80 characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._-")[:80]
    return stem or fallback


def read_text_file(path: Path, limit: int = MAX_TEXT_FILE) -> str:
    """A UTF-8 text file (BOM allowed) of at most `limit` bytes; else one-line InputError."""
    from models.text_fit import decode_text

    if path.stat().st_size > limit:
        raise InputError(f"{str(path)!r} is larger than {limit // 2**20} MiB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return decode_text(data, repr(str(path)))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    text = read_text_file(path)
    if not text.strip():
        raise InputError(f"{str(path)!r} is empty: no header, no rows")
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise InputError(f"{str(path)!r} has a header but no rows")
    return rows


def _texts(path: Path) -> list[tuple[str, Any]]:
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
        column = "text" if "text" in rows[0] else next(iter(rows[0]))
        texts = [r[column] for r in rows]
    else:
        texts = re.split(r"\r?\n", read_text_file(path))  # not splitlines: \v, \f... stay
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise InputError(f"{str(path)!r} holds no text: it is empty or only whitespace")
    return [(f"{path.stem}-{i:03d}", t) for i, t in enumerate(texts)]


def _images(path: Path) -> list[tuple[str, Any]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS)
        if not files:
            raise InputError(f"folder {str(path)!r} holds no image ({', '.join(IMAGE_EXTS)})")
        return [(p.stem, p) for p in files]
    if path.suffix.lower() not in IMAGE_EXTS:
        raise InputError(f"{str(path)!r} is not an image file; allowed: {', '.join(IMAGE_EXTS)}")
    return [(path.stem, path)]


def _json_inputs(value: str, source: str) -> list[Any]:
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source} is not valid JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(x, dict) for x in items):
        raise InputError(f"{source} must be a JSON object or a list of objects")
    return items


def _rows(path: Path | None, arg: str, features: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    if path is not None and path.suffix.lower() == ".csv":
        rows = _csv_rows(path)
        if features:  # one rule with the dashboard: named columns, extra ones ignored (notice)
            return _feature_rows(path, rows, features)
        return [(f"{path.stem}-{i:03d}", {k: _num(v) for k, v in r.items()})
                for i, r in enumerate(rows)]
    items = _json_inputs(read_text_file(path) if path else arg, repr(str(path)) if path else "--input")
    stem = path.stem if path else "row"
    return [(f"{stem}-{i:03d}", {k: _num(v) for k, v in x.items()}) for i, x in enumerate(items)]


def _feature_rows(path: Path, rows: list[dict[str, str]], features: tuple[str, ...]
                  ) -> list[tuple[str, Any]]:
    """Each row's feature cells as floats; a bad cell fails that row alone (named by column
    and row), so a batch reports it and goes on."""
    import warnings

    from models.errors import InputNotice
    from models.tables import check_columns, ignored_notice, row_floats

    header = [k for k in rows[0] if k is not None]
    extra = check_columns(header, features, repr(str(path)))
    if extra:
        warnings.warn(ignored_notice(repr(str(path)), extra), InputNotice, stacklevel=2)
    out: list[tuple[str, Any]] = []
    for i, r in enumerate(rows):
        try:
            out.append((f"{path.stem}-{i:03d}", row_floats(r, features, f"row {i}")))
        except InputError as exc:
            out.append((f"{path.stem}-{i:03d}", exc))
    return out


def _num(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _pairs(path: Path | None, arg: str) -> list[tuple[str, Any]]:
    items = _json_inputs(read_text_file(path) if path else arg, repr(str(path)) if path else "--input")
    for x in items:
        if set(x) != {"image", "text"}:
            raise InputError("a fusion input is {\"image\": PATH, \"text\": TEXT}")
    return [(f"pair-{i:03d}", x) for i, x in enumerate(items)]


def read_inputs(arg: str, modality: str, features: tuple[str, ...] = ()
                ) -> tuple[list[tuple[str, Any]], bool]:
    """[(name, raw)] for --input, and whether it named a folder."""
    path = Path(arg)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a long text or row is not a file name
        exists = False
    if modality == "image":
        if not exists:
            raise InputError(f"no such image file or folder: {arg!r}")
        return _images(path), path.is_dir()
    if exists and path.is_dir():
        raise InputError(f"{arg!r} is a folder; a {modality} model takes a file or a value")
    if modality in ("text", "generation"):
        if exists:
            return _texts(path), False
        if not arg.strip():
            raise InputError("the input text is empty")
        return [("text", arg)], False
    if modality == "tabular":
        return _rows(path if exists else None, arg, features), False
    return _pairs(path if exists else None, arg), False


def index_html(rows: list[tuple[str, str, str, float]], title: str,
               failed: list[tuple[str, str]] = ()) -> str:
    """An offline index page: (input name, report file, predicted label, probability) rows, and
    one row per input that failed, with its reason."""
    body = "".join(
        f'<tr><td><a href="{esc(href)}">{esc(name)}</a></td><td>{esc(label)}</td>'
        f"<td>{p:.1%}</td></tr>" for name, href, label, p in rows)
    body += "".join(f'<tr class="failed"><td>{esc(name)}</td><td colspan="2">failed: '
                    f"{esc(why)}</td></tr>" for name, why in failed)
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title>'
            "<style>body{font-family:sans-serif;margin:24px}td,th{padding:2px 12px;"
            "text-align:left}</style></head><body>"
            f"<h1>{esc(title)}</h1><table><tr><th>input</th><th>prediction</th>"
            f"<th>probability</th></tr>{body}</table></body></html>")

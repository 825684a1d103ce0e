"""Data-set inputs: list a folder / zip / CSV / .txt / the bundled split as items, open one lazily."""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from explainers.report.batch import read_text_file
from models.base import HasSamples, ModelAdapter
from models.errors import InputError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_FILE = 50 * 2**20  # one image or text file
MAX_TABLE = 500 * 2**20  # one CSV / .txt
BUILTIN = "builtin"


@dataclass(frozen=True)
class Item:
    """One input: its id (path or row number), how to open it, its true class (or None)."""

    id: str
    ref: Any  # a path str, ("zip", archive, member), a text, a row dict, or a raw object
    label: int | None = None


@dataclass
class Listing:
    """What a --data argument holds: the good items, the ones skipped at listing, its kind."""

    kind: str
    items: list[Item]
    skipped: list[tuple[str, str]]
    path: str


def class_index(label: str, names: tuple[str, ...]) -> int:
    """A class name or index -> index; anything else is an InputError naming the classes."""
    text = str(label).strip()
    if text in names:
        return names.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(names):
        return int(text)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    raise InputError(f"label {text!r} is not a class of the model (classes: {shown})")


def _labelled(items: list[tuple[str, Any, str | None]], names: tuple[str, ...]) -> tuple:
    good, skipped = [], []
    for id_, ref, label in items:
        if label is None or label == "":
            good.append(Item(id_, ref, None))
            continue
        try:
            good.append(Item(id_, ref, class_index(label, names)))
        except InputError as exc:
            skipped.append((id_, str(exc)))
    return good, skipped


def _image_entries(paths: list[PurePosixPath]) -> list[tuple[str, PurePosixPath, str | None]]:
    """ImageFolder layout: a class-named parent folder is the label; files at the top have none."""
    paths = [p for p in paths if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".")]
    out = []
    for p in sorted(paths):
        out.append((str(p), p, p.parts[-2] if len(p.parts) > 1 else None))
    return out


def _folder(path: Path, names: tuple[str, ...]) -> Listing:
    files = [PurePosixPath(p.relative_to(path).as_posix()) for p in path.rglob("*") if p.is_file()]
    entries = _image_entries([p for p in files if len(p.parts) <= 2])
    if not entries:
        raise InputError(f"folder {str(path)!r} holds no images ({', '.join(IMAGE_EXTS)}), "
                         "neither at its top nor in class-named subfolders")
    items = [(i, str(path / rel), lab) for i, rel, lab in entries]
    good, skipped = _labelled(items, names)
    return Listing("image_folder", good, skipped, str(path))


def _zip(path: Path, names: tuple[str, ...]) -> Listing:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and "__MACOSX" not in i.filename]
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"cannot read {str(path)!r} as a zip: {exc}") from exc
    members = {PurePosixPath(i.filename): i for i in infos}
    tops = {p.parts[0] for p in members if len(p.parts) > 1}
    strip = len(tops) == 1 and all(len(p.parts) > 1 for p in members)
    rel = {(PurePosixPath(*p.parts[1:]) if strip else p): p for p in members}
    entries = _image_entries([p for p in rel if len(p.parts) <= 2])
    if not entries:
        raise InputError(f"zip {str(path)!r} holds no images ({', '.join(IMAGE_EXTS)})")
    items, skipped = [], []
    for id_, r, lab in entries:
        info = members[rel[r]]
        if info.file_size > MAX_FILE:
            skipped.append((id_, f"larger than {MAX_FILE // 2**20} MiB"))
            continue
        items.append((id_, ("zip", str(path), info.filename), lab))
    good, bad = _labelled(items, names)
    return Listing("image_zip", good, skipped + bad, str(path))


def _read_table_text(path: Path) -> str:
    return read_text_file(path, MAX_TABLE)


def _csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(_read_table_text(path)))
    rows = list(reader)
    columns = [c.strip() for c in (reader.fieldnames or [])]
    if not rows:
        raise InputError(f"{str(path)!r} has no rows")
    return columns, [{(k or "").strip(): v for k, v in r.items()} for r in rows]


def _need(path: Path, columns: list[str], needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InputError(f"{str(path)!r} lacks the column(s) {missing} that a {what} needs "
                         f"(it has {columns[:8]}{', ...' if len(columns) > 8 else ''})")


def _text_csv(path: Path, names: tuple[str, ...]) -> Listing:
    columns, rows = _csv(path)
    _need(path, columns, ["text"], "text model")
    items, skipped = [], []
    for i, r in enumerate(rows):
        text = (r.get("text") or "").strip()
        if not text:
            skipped.append((str(i), "empty text"))
        else:
            items.append((str(i), text, r.get("label")))
    good, bad = _labelled(items, names)
    return Listing("text_csv", good, skipped + bad, str(path))


def _text_lines(path: Path) -> Listing:
    lines = _read_table_text(path).splitlines()
    items = [Item(str(i), t.strip()) for i, t in enumerate(lines) if t.strip()]
    if not items:
        raise InputError(f"{str(path)!r} holds no text")
    return Listing("text_lines", items, [], str(path))


def _float_row(r: dict[str, str], features: tuple[str, ...]) -> dict[str, float]:
    row = {}
    for f in features:
        try:
            row[f] = float(r[f])
        except (TypeError, ValueError):
            raise InputError(f"feature {f!r} = {r[f]!r} is not a number") from None
        if not np.isfinite(row[f]):
            raise InputError(f"feature {f!r} = {r[f]!r} is not finite")
    return row


def _table_csv(path: Path, model: ModelAdapter) -> Listing:
    columns, rows = _csv(path)
    features = model.info.feature_names
    _need(path, columns, list(features), f"{model.info.name} model")
    items, skipped = [], []
    for i, r in enumerate(rows):
        try:
            items.append((str(i), _float_row(r, features), r.get("label")))
        except InputError as exc:
            skipped.append((str(i), str(exc)))
    good, bad = _labelled(items, model.info.class_names)
    return Listing("table_csv", good, skipped + bad, str(path))


def _fusion_csv(path: Path, names: tuple[str, ...]) -> Listing:
    columns, rows = _csv(path)
    _need(path, columns, ["image", "text"], "fusion model")
    items = [(str(i), {"image": str((path.parent / r["image"].strip()).resolve()),
                       "text": (r.get("text") or "").strip()}, r.get("label"))
             for i, r in enumerate(rows)]
    good, bad = _labelled(items, names)
    return Listing("fusion_csv", good, bad, str(path))


def _builtin(model: ModelAdapter, seed: int) -> Listing:
    if not isinstance(model, HasSamples):
        raise InputError(f"{model.info.name} has no bundled held-out split; give --data PATH")
    pairs = model.samples(None, seed=seed)
    return Listing(BUILTIN, [Item(str(i), raw, int(y)) for i, (raw, y) in
                             enumerate(pairs)], [], BUILTIN)


def list_inputs(data: str | Path, model: ModelAdapter, seed: int = 0) -> Listing:
    """Every input --data names, for this model's modality; whole-source problems raise."""
    modality, names = model.info.modality, model.info.class_names
    if str(data) == BUILTIN:
        return _builtin(model, seed)
    path = Path(data)
    if not path.exists():
        raise InputError(f"--data {str(data)!r}: no such file or folder (or give 'builtin')")
    suffix = path.suffix.lower()
    if modality == "image":
        if path.is_dir():
            return _folder(path, names)
        if suffix == ".zip":
            return _zip(path, names)
        raise InputError(f"--data {str(data)!r}: an image model takes a folder of images or a "
                         ".zip of one")
    if path.is_dir():
        raise InputError(f"--data {str(data)!r} is a folder; a {modality} model takes a file")
    if modality == "text":
        if suffix == ".csv":
            return _text_csv(path, names)
        return _text_lines(path)
    if suffix != ".csv":
        raise InputError(f"--data {str(data)!r}: a {modality} model takes a .csv")
    return _table_csv(path, model) if modality == "tabular" else _fusion_csv(path, names)


def open_item(ref: Any) -> Any:
    """The raw input an item refers to (a zip member is read into a PIL image)."""
    if isinstance(ref, tuple) and len(ref) == 3 and ref[0] == "zip":
        from models.images import decode_image  # size checked first: a bomb is one line

        try:
            with zipfile.ZipFile(ref[1]) as zf:
                data = zf.read(ref[2])
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read {ref[2]!r} in {ref[1]!r}: {exc}") from exc
        return decode_image(data, ref[2]).image
    return ref

"""Upload safety: size limits, safe zip extraction, and refusing pickled full-model files."""
from __future__ import annotations

import io
import os
import pickle
import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from models.errors import ModelLoadError

MB = 1 << 20
# environment overrides (megabytes / plain numbers); defaults documented in the README
MAX_UPLOAD_ENV = "GLASSBOX_MAX_UPLOAD_MB"  # size of an uploaded file, or a directory's total
MAX_UNZIPPED_ENV = "GLASSBOX_MAX_UNZIPPED_MB"  # total uncompressed size of a zip
MAX_RATIO_ENV = "GLASSBOX_MAX_ZIP_RATIO"  # uncompressed / compressed, per member
MAX_FILES_ENV = "GLASSBOX_MAX_ZIP_FILES"  # members in a zip
DEFAULT_MAX_UPLOAD_MB = 500
DEFAULT_MAX_UNZIPPED_MB = 2000
DEFAULT_MAX_RATIO = 100
DEFAULT_MAX_FILES = 2000
RATIO_FLOOR = 1 * MB  # members smaller than this are not ratio-checked (tiny files compress well)

EXPORT_HELP = (
    "export it instead: TorchScript (torch.jit.save(torch.jit.script(model) or "
    "torch.jit.trace(model, example), 'model.ts')), torch.export "
    "(torch.export.save(torch.export.export(model, (example,)), 'model.pt2')), or the weights "
    "only (safetensors.torch.save_file(model.state_dict(), 'model.safetensors') + a sidecar "
    "naming the architecture)"
)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ModelLoadError(f"${name}={raw!r} is not a number") from None
    if value <= 0:
        raise ModelLoadError(f"${name}={raw!r} must be positive")
    return value


def max_upload_bytes() -> int:
    """The upload size limit in bytes ($GLASSBOX_MAX_UPLOAD_MB, default 500 MB)."""
    return int(_env_number(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB) * MB)


def size_of(path: Path) -> int:
    """Bytes in a file, or in every regular file under a directory (symlinks not followed)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def check_size(path: Path, limit: int | None = None) -> int:
    """Refuse a file or directory larger than the upload limit; return its size."""
    limit = max_upload_bytes() if limit is None else limit
    size = size_of(path)
    if size > limit:
        raise ModelLoadError(
            f"{path.name} is {size / MB:.1f} MB, over the {limit / MB:.0f} MB limit "
            f"(set ${MAX_UPLOAD_ENV} to raise it)"
        )
    return size


def check_bytes(data: bytes, name: str, limit: int | None = None) -> None:
    """Refuse uploaded bytes larger than the upload limit."""
    limit = max_upload_bytes() if limit is None else limit
    if len(data) > limit:
        raise ModelLoadError(
            f"{name} is {len(data) / MB:.1f} MB, over the {limit / MB:.0f} MB limit "
            f"(set ${MAX_UPLOAD_ENV} to raise it)"
        )


# ----------------------------------------------------------------- zip archives
def open_zip(path: Path) -> zipfile.ZipFile:
    """Open a zip file, or raise a one-line ModelLoadError for a corrupt/truncated one."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable zip archive (corrupt or truncated?): {exc}") from None


def _unsafe_name(name: str) -> str:
    """Why a member name is unsafe to extract ('' when it is safe)."""
    if "\\" in name or (len(name) > 1 and name[1] == ":"):
        return "has a backslash or drive letter"
    posix = PurePosixPath(name)
    if posix.is_absolute():
        return "is an absolute path"
    if ".." in posix.parts:
        return "climbs out of the archive with '..'"
    return ""


def check_zip(zf: zipfile.ZipFile, label: str) -> None:
    """Refuse zip bombs and unsafe members before anything reads them."""
    infos = zf.infolist()
    max_files = int(_env_number(MAX_FILES_ENV, DEFAULT_MAX_FILES))
    if len(infos) > max_files:
        raise ModelLoadError(f"{label} has {len(infos)} files, over the limit of {max_files} (${MAX_FILES_ENV})")
    max_total = int(_env_number(MAX_UNZIPPED_ENV, DEFAULT_MAX_UNZIPPED_MB) * MB)
    max_ratio = _env_number(MAX_RATIO_ENV, DEFAULT_MAX_RATIO)
    total = 0
    for info in infos:
        why = _unsafe_name(info.filename)
        if why:
            raise ModelLoadError(f"{label}: member {info.filename!r} {why}; refused")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ModelLoadError(f"{label}: member {info.filename!r} is a symbolic link; refused")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > max_ratio:
            raise ModelLoadError(
                f"{label}: member {info.filename!r} expands {ratio:.0f}x, over the limit of "
                f"{max_ratio:.0f}x (${MAX_RATIO_ENV}); refused as a possible zip bomb"
            )
    if total > max_total:
        raise ModelLoadError(
            f"{label} expands to {total / MB:.0f} MB, over the {max_total / MB:.0f} MB limit "
            f"(${MAX_UNZIPPED_ENV}); refused as a possible zip bomb"
        )


def extract_zip(path: Path, dest: Path) -> Path:
    """Safely extract a zip into dest; returns the model root (dest, or its single top folder)."""
    with open_zip(path) as zf:
        check_zip(zf, path.name)
        budget = int(_env_number(MAX_UNZIPPED_ENV, DEFAULT_MAX_UNZIPPED_MB) * MB)
        root = dest.resolve()
        for info in zf.infolist():
            target = (root / info.filename).resolve()
            if root != target and root not in target.parents:
                raise ModelLoadError(f"{path.name}: member {info.filename!r} leaves the archive; refused")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            budget = _copy_member(zf, info, target, budget, path.name)
    entries = [p for p in dest.iterdir() if p.name != "__MACOSX"]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, label: str) -> int:
    """Stream one member out, counting real bytes (headers can lie); returns the budget left."""
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                written += len(chunk)
                if written > info.file_size or written > budget:
                    raise ModelLoadError(f"{label}: member {info.filename!r} expands past its limit; refused")
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelLoadError(f"{label}: member {info.filename!r} is corrupt: {exc}") from None
    return budget - written


# ----------------------------------------------------------------- pickles
def load_weights_only(source: Path | IO[bytes] | bytes, label: str) -> object:
    """torch.load(weights_only=True); a pickle of anything else is refused, never run."""
    import torch

    fh = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return torch.load(fh, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _starts_like_pickle(source):  # a pickle (0x80) or torch.save's zip (PK)
            raise ModelLoadError(f"{label} is not a model file (neither a zip archive nor a "
                                 "weights pickle; random or garbled bytes?)") from None
        found = re.search(r"GLOBAL (\S+)", str(exc))
        detail = f" (it refers to {found.group(1)})" if found else ""
        raise ModelLoadError(
            f"{label} is a pickled Python object, not plain weights{detail}; pickles are never "
            f"unpickled here because loading one can run any code. To use the model, {EXPORT_HELP}"
        ) from None
    except Exception as exc:  # noqa: BLE001  (restricted unpickler: any other error = corrupt file)
        raise ModelLoadError(f"{label} is corrupt or truncated: {_first_line(exc)}") from None


def _starts_like_pickle(source: Path | IO[bytes] | bytes) -> bool:
    if isinstance(source, bytes):
        head = source[:2]
    elif isinstance(source, Path):
        with open(source, "rb") as fh:
            head = fh.read(2)
    else:
        pos = source.tell()
        source.seek(0)
        head = source.read(2)
        source.seek(pos)
    return head[:1] == b"\x80" or head == b"PK"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""The sidecar file: what a model file cannot say about itself (modality, size, labels, ...)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from models.errors import ModelLoadError

MAX_SIDECAR_BYTES = 1 << 20
MODALITIES = ("image", "text", "tabular")
SUFFIXES = (".glassbox.json", ".glassbox.yaml", ".glassbox.yml", ".json", ".yaml", ".yml")
DIR_NAMES = ("glassbox.json", "glassbox.yaml", "glassbox.yml")


@dataclass(frozen=True)
class Sidecar:
    """Validated sidecar values; every field is optional, defaults fill what is missing."""

    modality: str | None = None
    name: str | None = None
    description: str = ""
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    input_size: tuple[int, int] | None = None  # (H, W)
    channels: int | None = None  # 1 (grey) or 3 (RGB)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    architecture: str | None = None  # a built-in architecture, for state dicts
    architecture_kwargs: dict[str, Any] = field(default_factory=dict)
    target_layer: str | None = None  # default Grad-CAM layer (qualified module name)
    max_length: int | None = None  # text: longest token sequence


KNOWN = tuple(f.name for f in fields(Sidecar))


def _fail(key: str, value: Any, want: str) -> ModelLoadError:
    return ModelLoadError(f"sidecar {key!r} = {value!r}: expected {want}")


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str | int) for v in value):
        raise _fail(key, value, "a list of strings")
    out = tuple(str(v) for v in value)
    if len(set(out)) != len(out):
        raise _fail(key, value, "distinct names")
    return out


def _floats(key: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, int | float):
        value = [value]
    if not isinstance(value, list | tuple) or not value or len(value) > 4:
        raise _fail(key, value, "a number or a list of 1 or 3 numbers")
    try:
        return tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise _fail(key, value, "numbers") from None


def _size(value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and 4 <= v <= 4096 for v in value)):
        raise _fail("input_size", value, "[height, width] of integers in 4..4096 (or one integer)")
    return int(value[0]), int(value[1])


def _int(key: str, value: Any, allowed: range) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        raise _fail(key, value, f"an integer in {allowed.start}..{allowed.stop - 1}")
    return value


def parse_sidecar(data: dict[str, Any] | None) -> Sidecar:
    """Validate a sidecar mapping; unknown keys and bad values raise ModelLoadError."""
    if data is None:
        return Sidecar()
    if not isinstance(data, dict):
        raise ModelLoadError(f"sidecar must be a mapping of keys to values, got {type(data).__name__}")
    unknown = sorted(set(data) - set(KNOWN))
    if unknown:
        raise ModelLoadError(f"unknown sidecar key {unknown[0]!r}; allowed: {', '.join(KNOWN)}")
    d = {k: v for k, v in data.items() if v is not None}
    out: dict[str, Any] = {}
    if "modality" in d:
        if d["modality"] not in MODALITIES:
            raise _fail("modality", d["modality"], f"one of {MODALITIES}")
        out["modality"] = d["modality"]
    for key in ("name", "description", "architecture", "target_layer"):
        if key in d:
            if not isinstance(d[key], str):
                raise _fail(key, d[key], "a string")
            out[key] = d[key]
    for key in ("class_names", "feature_names"):
        if key in d:
            out[key] = _strings(key, d[key])
    if "input_size" in d:
        out["input_size"] = _size(d["input_size"])
    if "channels" in d:
        out["channels"] = _int("channels", d["channels"], range(1, 5))
    if "max_length" in d:
        out["max_length"] = _int("max_length", d["max_length"], range(2, 100_001))
    for key in ("mean", "std"):
        if key in d:
            out[key] = _floats(key, d[key])
    if any(s <= 0 for s in out.get("std", ())):
        raise _fail("std", d["std"], "positive numbers")
    if "architecture_kwargs" in d:
        if not isinstance(d["architecture_kwargs"], dict):
            raise _fail("architecture_kwargs", d["architecture_kwargs"], "a mapping")
        out["architecture_kwargs"] = dict(d["architecture_kwargs"])
    return Sidecar(**out)


def read_sidecar(path: str | Path) -> Sidecar:
    """Read and validate a JSON or YAML sidecar file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            raise ModelLoadError(f"sidecar {path.name} is over {MAX_SIDECAR_BYTES >> 10} KB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read sidecar {path.name}: {exc}") from None
    return parse_sidecar(parse_text(text, path.name))


def parse_text(text: str, label: str = "sidecar") -> Any:
    """JSON or YAML text -> a mapping (YAML via yaml.safe_load, which builds no objects)."""
    if label.endswith(".json") or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"{label} is not valid JSON: {exc}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "parse error"
        raise ModelLoadError(f"{label} is not valid YAML: {first}") from None


def find_sidecar(model_path: Path) -> Path | None:
    """The sidecar next to a model file (model.glassbox.json, model.json, ...) or inside a folder."""
    if model_path.is_dir():
        return next((model_path / n for n in DIR_NAMES if (model_path / n).is_file()), None)
    stem = model_path.with_suffix("")
    for suffix in SUFFIXES:
        candidate = Path(str(stem) + suffix)
        if candidate.is_file() and candidate != model_path:
            return candidate
    return None


def resolve_sidecar(model_path: Path, sidecar: str | Path | dict[str, Any] | Sidecar | None) -> Sidecar:
    """An explicit sidecar (path, mapping or Sidecar) wins; else the one found beside the model."""
    if isinstance(sidecar, Sidecar):
        return sidecar
    if isinstance(sidecar, dict):
        return parse_sidecar(sidecar)
    if sidecar is not None:
        return read_sidecar(sidecar)
    found = find_sidecar(model_path)
    return read_sidecar(found) if found else Sidecar()

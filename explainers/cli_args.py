"""What the command line's sub-commands share: exit codes, --param parsing, --out checking."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from models.errors import InputError, UnknownNameError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _coerce(method: str, name: str, text: str, model: Any = None) -> Any:
    """A --param value converted by the method's own parameter spec (for `model`, if given)."""
    from explainers.base import get_method

    m = get_method(method)
    spec = {p.name: p for p in (m.params_for(model) if model is not None else m.params)}
    if name == "seed":
        return int(text)
    if name == "spans" and model is not None and model.info.modality == "generation":
        return text  # token ranges 'start:end,...', checked against the prompt
    if name not in spec:
        raise UnknownNameError(f"{method} has no parameter {name!r}; allowed: {sorted(spec)}")
    p = spec[name]
    if p.kind == "bool":
        if text.lower() not in TRUE | FALSE:
            raise InputError(f"parameter {method}.{name} must be true or false, got {text!r}")
        return p.coerce(text.lower() in TRUE)
    if p.kind == "choice":
        match = [c for c in p.choices if str(c) == text]
        return p.coerce(match[0] if match else text)
    return p.coerce(text)


def parse_params(items: list[str], methods: list[str], model: Any = None
                 ) -> dict[str, dict[str, Any]]:
    """['ig.n_steps=32', ...] -> {'ig': {'n_steps': 32}}; each for a method in --methods."""
    out: dict[str, dict[str, Any]] = {m: {} for m in methods}
    for item in items:
        key, sep, value = item.partition("=")
        method, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise InputError(f"--param {item!r} is not METHOD.NAME=VALUE")
        if method not in out:
            raise InputError(f"--param {item!r} names method {method!r}, not in --methods {methods}")
        out[method][name] = _coerce(method, name, value, model)
    return out


def out_path(out: str) -> Path:
    """--out checked: a known extension, its folder creatable."""
    from explainers.report import FORMATS

    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--out {out!r}: unknown format {path.suffix!r}; allowed: {list(FORMATS)}")
    if path.exists() and path.is_dir():
        raise InputError(f"--out {out!r} is a folder; give a file name ending in .html/.pdf/.json")
    return path

"""Table rows from files (CSV) checked one way on every surface: plain column names, a "did you
mean" for near misses, and a bad cell named by its column and row."""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from models.errors import InputError


def _names(items: Iterable[str], n: int = 3) -> str:
    items = list(items)
    shown = ", ".join(repr(str(x)) for x in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def check_columns(columns: list[str], features: tuple[str, ...], source: str) -> list[str]:
    """The columns that are not features (ignored, for a notice); InputError naming the missing
    features, with a hint when the header differs only in case/spacing or is close."""
    have, features = [str(c) for c in columns], tuple(str(f) for f in features)
    missing = [f for f in features if f not in have]
    extra = [c for c in have if c not in features]
    if not missing:
        return extra
    folded = {" ".join(c.lower().split()): c for c in extra}
    hints = []
    for f in missing:
        near = folded.get(" ".join(f.lower().split())) or next(
            iter(difflib.get_close_matches(f, extra, n=1, cutoff=0.8)), None)
        if near is not None:
            hints.append(f"{f!r} for {near!r}")
    line = (f"{source} lacks {len(missing)} of the model's {len(features)} feature column(s): "
            f"{_names(missing)}")
    if hints:
        more = f" (and {len(hints) - 2} more)" if len(hints) > 2 else ""
        line += (f"; did you mean {', '.join(hints[:2])}{more}? Headers must match exactly, "
                 "case included")
    elif extra:
        line += f"; it has {_names(extra)} instead"
    raise InputError(line)


def cell_float(value: Any, column: str, where: str = "") -> float:
    """One cell as a float; InputError naming the column (and row) of an empty or text cell."""
    at = f"column {column!r}" + (f", {where}" if where else "")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"empty cell in {at}: enter a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"could not convert {str(value)[:40]!r} to a number in {at}") from None
    if not math.isfinite(out):
        raise InputError(f"{'empty or NaN' if math.isnan(out) else 'infinite'} value in {at}: "
                         "enter a finite number")
    return out


def row_floats(row: Mapping[str, Any], features: tuple[str, ...], where: str = ""
               ) -> dict[str, float]:
    """{feature: float} from a row holding every feature (other keys are ignored)."""
    features = tuple(str(f) for f in features)
    missing = [f for f in features if f not in row]
    if missing:
        raise InputError(f"missing feature(s) {_names(missing)}" + (f" in {where}" if where else ""))
    return {f: cell_float(row[f], f, where) for f in features}


def ignored_notice(source: str, extra: list[str]) -> str:
    """The one notice for columns that are not features (the CLI and the dashboard say it)."""
    return f"{source}: column(s) {_names(extra)} are not features and were ignored"

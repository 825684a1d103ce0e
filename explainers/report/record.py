"""Report <-> JSON (+ NPZ for large arrays): every number and parameter needed to recompute."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from explainers.base import Attribution
from explainers.report.model import Report
from models.errors import InputError

FORMAT = "glassbox-report/1"
INLINE_MAX = 4096  # arrays with at most this many numbers are written inline as lists
RTOL, ATOL = 1e-3, 1e-6  # reproduce passes when max|new - old| <= ATOL + RTOL * max|old|


def plain(v: Any) -> Any:
    """JSON-safe copy: numpy -> python, tuples -> lists, callables dropped by the caller."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def recorded_params(a: Attribution) -> dict[str, Any]:
    return {k: plain(v) for k, v in a.params.items() if k != "progress" and not callable(v)}


def _values(values: Any, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(values, dict):
        return {"parts": {p: _values(v, f"{key}__{p}", arrays) for p, v in values.items()}}
    arr = np.asarray(values)
    if arr.size <= INLINE_MAX:
        return {"shape": list(arr.shape), "data": arr.astype(float).ravel().tolist()}
    arrays[key] = arr
    return {"shape": list(arr.shape), "npz": key}


def _attribution(a: Attribution, i: int, seed: int | None, arrays: dict) -> dict[str, Any]:
    rec = _common(a, i, seed, arrays)
    if a.modality == "generation":
        from explainers.report.generation import record

        rec["generation"] = record(a)
    return rec


def _common(a: Attribution, i: int, seed: int | None, arrays: dict) -> dict[str, Any]:
    return {
        "method": a.method, "target": int(a.target), "target_label": str(a.target_label),
        "params": recorded_params(a), "seed": plain(a.params.get("seed", seed)),
        "delta": plain(a.delta), "base_value": plain(a.base_value), "output": plain(a.output),
        "seconds": float(a.seconds), "modality": a.modality, "units": plain(a.units),
        "values": _values(a.values, f"a{i}", arrays),
    }


def to_document(report: Report) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON document and the arrays that go to the NPZ beside it."""
    arrays = dict(report.arrays)
    doc = {
        "format": FORMAT, "title": report.title, "model": plain(report.model),
        "input": plain(report.input), "seed": report.seed, "environment": plain(report.environment),
        "prediction": {"probabilities": plain(np.asarray(report.probabilities, float)),
                       "predicted": report.predicted, "label": report.predicted_label},
        "attributions": [_attribution(a, i, report.seed, arrays)
                         for i, a in enumerate(report.attributions)],
        "trust": plain(report.trust),
        "sections": [{"title": s.title, "text": s.text, "data": plain(s.data)}
                     for s in report.sections],
        "tolerance": {"rtol": RTOL, "atol": ATOL},
    }
    return doc, arrays


def write_json(report: Report, path: str | Path) -> Path:
    """report.json (+ report.npz when any array is too big to inline or must stay exact)."""
    path = Path(path)
    doc, arrays = to_document(report)
    if arrays:
        npz = path.with_suffix(".npz")
        doc["npz"] = npz.name
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        npz.write_bytes(buf.getvalue())
    path.write_text(json.dumps(doc, indent=1, allow_nan=True), encoding="utf-8")
    return path


def read_document(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A report JSON and its NPZ arrays; InputError for anything that is not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read report {str(path)!r}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{str(path)!r} is not a Glassbox report (format {FORMAT!r})")
    arrays: dict[str, np.ndarray] = {}
    if doc.get("npz"):
        npz = path.parent / Path(str(doc["npz"])).name  # never leave the report's folder
        try:
            with np.load(npz, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read arrays {str(npz)!r}: {exc}") from exc
    return doc, arrays


def values_of(rec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """The recorded values of one attribution: an array, or a dict of arrays (fusion)."""
    if "parts" in rec:
        return {p: values_of(v, arrays) for p, v in rec["parts"].items()}
    if "npz" in rec:
        if rec["npz"] not in arrays:
            raise InputError(f"array {rec['npz']!r} is missing from the report's NPZ")
        return np.asarray(arrays[rec["npz"]], dtype=float)
    return np.asarray(rec["data"], dtype=float).reshape(rec["shape"])

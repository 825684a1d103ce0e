"""A job folder on disk: manifest.json (atomic), the Parquet shards, and load() back to pandas."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import InputError

MANIFEST = "manifest.json"
METRICS = "metrics.json"
PREDICTIONS = "predictions.csv"
FORMAT = "glassbox-dataset/1"


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temporary file + rename), so a killed job leaves a valid file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_plain) + "\n")
    os.replace(tmp, path)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"{type(v).__name__} is not JSON-serialisable")


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The job's manifest.json; a folder without one is an InputError."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise InputError(f"{str(out)!r} is not a data-set job folder (no {MANIFEST})")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}") from exc


def read_metrics(out: str | Path) -> dict[str, Any] | None:
    """metrics.json (labelled data only), else None."""
    path = Path(out) / METRICS
    return json.loads(path.read_text()) if path.is_file() else None


def shard_files(out: str | Path, manifest: dict[str, Any] | None = None) -> list[Path]:
    """The finished shards' Parquet files, in shard order."""
    manifest = manifest or read_manifest(out)
    return [Path(out) / s["file"] for s in sorted(manifest["shards"], key=lambda s: s["index"])
            if s.get("status") == "done" and s.get("file")]


def _arrays(df: Any) -> Any:
    """attr:<m>[:part] flat lists + shape:<m> -> numpy arrays of explain().values' shape."""
    for col in [c for c in df.columns if c.startswith("shape:")]:
        key = "attr:" + col[len("shape:"):]
        df[key] = [np.asarray(v, dtype=np.float32).reshape([int(n) for n in s])
                   for v, s in zip(df[key], df[col], strict=True)]
    df = df.drop(columns=[c for c in df.columns if c.startswith("shape:")])
    parts = [c for c in df.columns if c.count(":") == 2 and c.startswith("attr:")]
    for name in sorted({c.split(":")[1] for c in parts}):
        keys = [c for c in parts if c.split(":")[1] == name]
        df[f"attr:{name}"] = [{k.split(":")[2]: row[k] for k in keys}
                              for _, row in df[keys].iterrows()]
        df = df.drop(columns=keys)
    if "probs" in df.columns:
        df["probs"] = [np.asarray(p, dtype=np.float32) for p in df["probs"]]
    return df


def load(out: str | Path) -> Any:
    """One row per input: id, label, pred, confidence, attr:<method> (numpy), faith:<method>..."""
    import pandas as pd
    import pyarrow.parquet as pq

    files = shard_files(out)
    if not files:
        return pd.DataFrame(columns=["id", "label", "pred", "confidence"])
    frames = [pq.read_table(f).to_pandas() for f in files]
    df = pd.concat(frames, ignore_index=True)
    df["label"] = df["label"].astype("Int64")
    return _arrays(df)

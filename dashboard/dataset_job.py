"""Data set page, job side: the upload checked and saved, the job run with progress, reads cached."""
from __future__ import annotations

import importlib.util
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from dashboard import cache, inputs, state
from explainers.bounded import memo
from models import InputError, ModelAdapter

UPLOAD_TYPES = ["zip", "csv", "txt"]
MAX_UNZIPPED_MB = float(os.environ.get("GLASSBOX_MAX_UNZIPPED_MB", 200))
MAX_MEMBERS = 20_000
ROOT = Path(os.environ.get("GLASSBOX_DATASET_DIR", Path(tempfile.gettempdir()) / "glassbox-datasets"))
BUILTIN = "builtin"


def check_zip(data: bytes, name: str) -> None:
    """InputError unless `data` is a zip within the member and uncompressed-size limits."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise InputError(f"{name!r} is not a zip file") from exc
    if len(members) > MAX_MEMBERS:
        raise InputError(f"{name!r} holds {len(members)} files; the limit is {MAX_MEMBERS}")
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_MB * 1e6:
        raise InputError(f"{name!r} unpacks to {total / 1e6:.0f} MB; the limit is "
                         f"{MAX_UNZIPPED_MB:g} MB (GLASSBOX_MAX_UNZIPPED_MB)")
    if not any(not m.is_dir() for m in members):
        raise InputError(f"{name!r} is an empty zip")


def save_upload(name: str, data: bytes) -> Path:
    """Check an uploaded data set (size, type, zip limits, UTF-8) and save it; returns its path."""
    inputs.check_size(data, name)
    ext = Path(name).suffix.lower().lstrip(".")
    if ext not in UPLOAD_TYPES:
        raise InputError(f"{name!r}: a data set is a .zip of an image folder, a .csv or a .txt")
    if ext == "zip":
        check_zip(data, name)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name!r} is not UTF-8 text") from exc
        if not text.strip():
            raise InputError(f"{name!r} is empty")
    folder = ROOT / "uploads" / state.digest(data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"data.{ext}"  # never the user's file name on disk
    if not path.exists():
        path.write_bytes(data)
    return path


def ray_available() -> bool:
    """Whether the optional Ray engine can be offered (requirements-ray.txt installed)."""
    return importlib.util.find_spec("ray") is not None


def job_key(model: ModelAdapter, data: str, methods: list[str], params: dict[str, Any],
            limit: int | None, seed: int, faithfulness: bool) -> str:
    """Plain key of what decides a job's rows (not the engine: Ray writes the same rows)."""
    return state.digest(json.dumps({"model": cache.key(model), "sha": model.info.sha256,
                                    "data": data, "methods": methods, "params": params,
                                    "limit": limit, "seed": seed, "faith": faithfulness},
                                   sort_keys=True, default=str))


def job_dir(key: str) -> Path:
    """The job's folder: the same arguments reuse it, so a stopped job resumes there."""
    return ROOT / "jobs" / key


def run(model: ModelAdapter, data: str, methods: list[str], params: dict[str, Any],
        options: dict[str, Any], job: Any) -> dict[str, Any]:
    """Run the job under a dashboard.jobs run (its bar, Cancel, time limit); returns what the
    page keeps of it (plain values). A cancelled job keeps its finished shards."""
    from explainers import dataset

    key = job_key(model, data, methods, params, options["limit"], options["seed"],
                  options["faithfulness"])
    out = job_dir(key)
    cancelled = job.control.cancel.is_set

    def tick(done: int, total: int) -> None:
        state.put(state.DS_PROGRESS, (int(done), int(total)))
        if not cancelled():  # stopping is run_job's (it keeps the finished shards)
            job.show(done / total if total else 1.0, "Explaining inputs")

    res = dataset.run_job(
        model, data, methods, out, engine=options["engine"], workers=options["workers"],
        limit=options["limit"], seed=options["seed"], params=params,
        faithfulness=options["faithfulness"], progress=tick,
        cancel=lambda: cancelled() or job.control.time_limit is not None
        and job.control.elapsed > job.control.time_limit)
    return {"key": key, "out": str(res.out), "cancelled": bool(res.cancelled), "model": cache.key(model), "data": data,
            "methods": list(methods), "n_inputs": res.n_inputs, "n_done": res.n_done,
            "skipped": [(str(i), str(r)) for i, r in res.skipped], "seconds": res.seconds,
            "inputs_per_s": res.inputs_per_s, "engine": res.engine, "seed": options["seed"]}


def _stamp(out: str) -> int:
    path = Path(out) / "manifest.json"
    return path.stat().st_mtime_ns if path.exists() else 0


@memo(max_entries=8, max_mb=1024, copy=False)
def _load(out: str, stamp: int) -> Any:
    from explainers import dataset

    return dataset.load(out)


@memo(max_entries=8, max_mb=256, copy=False)
def _summaries(out: str, stamp: int) -> dict[str, Any]:
    from explainers import dataset

    return dataset.summaries(out)


@memo(max_entries=8, max_mb=16)
def _metrics(out: str, stamp: int) -> dict[str, Any] | None:
    from explainers import dataset

    return dataset.read_metrics(out)


def rows(out: str) -> Any:
    """dataset.load(out), shared read-only by sessions (re-read when the manifest changes)."""
    return _load(out, _stamp(out))


def views(out: str) -> dict[str, dict[str, Any]]:
    """The job's summaries per method (class mean maps, top units, least faithful)."""
    from explainers.report.dataset_report import method_views

    return method_views(_summaries(out, _stamp(out)))


def metrics(out: str) -> dict[str, Any] | None:
    return _metrics(out, _stamp(out))


@memo(max_entries=4, max_mb=256)
def _report(out: str, stamp: int, fmt: str) -> bytes:
    from explainers.report.dataset_report import report_bytes

    return report_bytes(out, fmt)


def report(out: str, fmt: str) -> bytes:
    """The data-set report (.html or .json bytes), built once per job state."""
    return _report(out, _stamp(out), fmt)

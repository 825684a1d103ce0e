"""Reports: a Report value from a model, an input and attributions; HTML, PDF and JSON exports."""
from __future__ import annotations

from pathlib import Path

from explainers.report.batch import safe_name
from explainers.report.html import render_html
from explainers.report.model import Report, Section, build_report, environment
from explainers.report.record import read_document, to_document, write_json
from explainers.report.reproduce import Check, reproduce, seed_everything
from models.errors import InputError

FORMATS = (".html", ".pdf", ".json")


def to_html_bytes(report: Report) -> bytes:
    return render_html(report).encode("utf-8")


def to_pdf_bytes(report: Report) -> bytes:
    """PDF bytes (Chromium print of the HTML); UnsupportedError when Chromium is missing."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="glassbox-") as tmp:
        return write_pdf(report, Path(tmp) / "report.pdf").read_bytes()


def to_json_bytes(report: Report, npz_name: str = "report.npz") -> tuple[bytes, bytes | None]:
    """(JSON bytes, NPZ bytes or None) for downloads; save the NPZ as `npz_name` beside it."""
    import io
    import json

    import numpy as np

    doc, arrays = to_document(report)
    npz = None
    if arrays:
        doc["npz"] = npz_name
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        npz = buf.getvalue()
    return json.dumps(doc, indent=1).encode("utf-8"), npz


def write_html(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_html(report), encoding="utf-8")
    return path


def write_pdf(report: Report, path: str | Path) -> Path:
    from explainers.report.pdf import html_to_pdf

    html = render_html(report)
    figures = html.count('class="plotly-graph-div"')
    return html_to_pdf(html, path, figures)


def save(report: Report, path: str | Path) -> Path:
    """Write the report in the format its extension names (.html, .pdf, .json)."""
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".html": write_html, ".pdf": write_pdf, ".json": write_json}
    if suffix not in writers:
        raise InputError(f"unknown report format {path.suffix!r}; allowed: {list(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return writers[suffix](report, path)


__all__ = [
    "FORMATS", "Check", "Report", "Section", "build_report", "environment", "read_document",
    "render_html", "reproduce", "safe_name", "save", "seed_everything", "to_document", "to_html_bytes",
    "to_json_bytes", "to_pdf_bytes", "write_html", "write_json", "write_pdf",
]

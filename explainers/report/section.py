"""A free-form report section (trust, fusion, compression...), shared by every report part."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    """A free-form block later work adds to a report (trust, fusion, compression...).

    `text` is escaped when rendered; `html` must already be safe (escaped by its producer);
    `figures` are plotly Figures drawn interactively in HTML and printed in the PDF.
    """

    title: str
    text: str = ""
    html: str = ""
    figures: list[Any] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # JSON-safe numbers for the JSON export

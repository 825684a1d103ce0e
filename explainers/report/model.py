"""The Report value: model card, input, prediction, attributions, trust scores, extra sections."""
from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

from explainers.base import Attribution
from explainers.report.inputs import input_record
from explainers.report.section import Section
from models.base import HasImage, ModelAdapter

LIBRARIES = ("torch", "captum", "shap", "plotly", "numpy", "transformers", "scikit-learn")


@dataclass
class Report:
    """Everything one report shows and records; render with explainers.report.save()."""

    model: dict[str, Any]
    input: dict[str, Any]
    probabilities: np.ndarray
    attributions: list[Attribution]
    environment: dict[str, Any]
    seed: int | None = None
    title: str = ""
    trust: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> score name -> value
    sections: list[Section] = field(default_factory=list)
    display_image: np.ndarray | None = None  # uint8 [H, W, 3] the maps align with
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # exact raw arrays (float images)

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def predicted_label(self) -> str:
        if self.model.get("modality") == "generation":  # the continuation explained
            return self.attributions[0].target_label if self.attributions else ""
        names = self.model.get("class_names") or ()
        return str(names[self.predicted]) if self.predicted < len(names) else str(self.predicted)

    def add_section(self, section: Section) -> Report:
        self.sections.append(section)
        return self


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment(device: Any, seed: int | None) -> dict[str, Any]:
    """Library versions, device, seed and time: what a reader needs to compute it again."""
    import torch

    env = {"python": platform.python_version(), "platform": platform.platform()}
    env.update({lib: _version(lib) for lib in LIBRARIES})
    env["device"] = str(device)
    if str(device).startswith("cuda") and torch.cuda.is_available():
        env["device_name"] = torch.cuda.get_device_name(torch.device(str(device)))
    env["seed"] = seed
    env["timestamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return env


def model_card(model: ModelAdapter) -> dict[str, Any]:
    info = model.info
    return {
        "name": info.name, "source": info.source, "sha256": info.sha256,
        "modality": info.modality, "class_names": list(info.class_names),
        "feature_names": list(info.feature_names), "description": info.description,
        "card": dict(info.card), "device": str(model.device),
    }


def build_report(model: ModelAdapter, raw: Any, attributions: list[Attribution],
                 trust: Any = None, seed: int | None = None,
                 sections: list[Section] | None = None, title: str = "") -> Report:
    """A Report for one raw input explained by several methods (computed already).

    `trust`: method -> score name -> value, or an explainers.metrics.TrustReport (its numbers
    go to each method's table and JSON, its readings and curves to trust sections).
    """
    if trust is not None and not isinstance(trust, dict):
        from explainers.report.trust import trust_numbers, trust_sections

        sections, trust = [*(sections or []), *trust_sections(trust)], trust_numbers(trust)
    arrays: dict[str, np.ndarray] = {}
    info = model.info
    record = input_record(raw, info.modality, tuple(info.feature_names), arrays)
    if info.modality == "generation":
        from explainers.report import generation

        probs = generation.continuation_probability(list(attributions))
        found = generation.sections(model, raw, list(attributions))
        sections = [*(Section(**s) for s in found), *(sections or [])]
    else:
        probs = np.asarray(model.predict(raw), dtype=float)
    display = None
    if isinstance(model, HasImage):
        display = np.asarray(model.display_image(raw))  # fusion adapters take the whole pair
    return Report(
        model=model_card(model), input=record, probabilities=probs,
        attributions=list(attributions), environment=environment(model.device, seed), seed=seed,
        title=title or f"Glassbox report: {info.name}", trust=dict(trust or {}),
        sections=list(sections or []), display_image=display, arrays=arrays,
    )

"""Every method, one small registered class each; importing this package registers them all.

A new method is one new module here holding one `@register`ed class: it is found and imported
below, and every page, the CLI, reports, trust scores and the registry-driven tests pick it up."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any

# the families in the order their methods are listed; any other module here follows, by name
FAMILIES = ("gradient", "path", "cam", "perturbation", "shap_methods", "attention")


def _import_all() -> None:
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")
                   and m.name != "context")
    for name in [f for f in FAMILIES if f in found] + [m for m in found if m not in FAMILIES]:
        importlib.import_module(f"{__name__}.{name}")


_import_all()
MODALITY_ORDER = ("image", "text", "tabular", "fusion", "generation")


def method_table() -> list[dict[str, Any]]:
    """One row per registered method: key, label, modalities, what it needs, params, backend."""
    from explainers.base import REGISTRY

    rows = []
    for key, m in REGISTRY.items():
        row: dict[str, Any] = {"method": key, "label": m.label}
        for mod in MODALITY_ORDER:
            row[mod] = mod in m.modalities
        row["needs"] = m.needs
        row["params"] = ", ".join(p.name for p in m.params)
        row["stochastic"] = m.stochastic
        row["help"] = m.help
        rows.append(row)
    return rows


def method_table_markdown() -> str:
    """The docs table (method x modality, with what each needs)."""
    mods = " | ".join(MODALITY_ORDER)
    head = (f"| method | {mods} | needs | parameters |\n"
            f"|---|{'---|' * len(MODALITY_ORDER)}---|---|")
    lines = [head]
    for r in method_table():
        marks = " | ".join("yes" if r[m] else "-" for m in MODALITY_ORDER)
        lines.append(f"| `{r['method']}` | {marks} | {r['needs']} | {r['params']} |")
    return "\n".join(lines)

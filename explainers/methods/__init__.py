"""Every method, one small registered class each; importing this package registers them."""
from __future__ import annotations

from typing import Any

from explainers.methods import (  # noqa: F401  (each import registers its methods)
    attention,
    cam,
    fusion_methods,  # wraps the gradient keys so fusion models dispatch to explainers.fusion
    gradient,
    path,
    perturbation,
    shap_methods,
)

MODALITY_ORDER = ("image", "text", "tabular", "fusion")
DESIGN_ORDER = (  # the method keys as DESIGN.md lists them; any others follow
    "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "deeplift",
    "gradient_shap", "deeplift_shap", "guided_backprop", "grad_cam", "guided_grad_cam",
    "occlusion", "feature_ablation", "lime", "kernel_shap", "shap_partition", "shap_gradient",
    "attention", "attention_rollout",
)


def method_table() -> list[dict[str, Any]]:
    """One row per registered method: key, label, modalities, what it needs, params, backend."""
    from explainers.base import REGISTRY

    rows = []
    order = {k: i for i, k in enumerate(DESIGN_ORDER)}
    for key, m in sorted(REGISTRY.items(), key=lambda kv: order.get(kv[0], len(order))):
        row: dict[str, Any] = {"method": key, "label": m.label}
        for mod in MODALITY_ORDER:
            row[mod] = mod in m.modalities
        row["needs"] = getattr(m, "needs", "")
        row["params"] = ", ".join(p.name for p in m.params)
        row["stochastic"] = m.stochastic
        row["help"] = m.help
        rows.append(row)
    return rows


def method_table_markdown() -> str:
    """The README table (method x modality, with what each needs)."""
    head = ("| method | image | text | tabular | fusion | needs | parameters |\n"
            "|---|---|---|---|---|---|---|")
    lines = [head]
    for r in method_table():
        marks = " | ".join("yes" if r[m] else "-" for m in MODALITY_ORDER)
        lines.append(f"| `{r['method']}` | {marks} | {r['needs']} | {r['params']} |")
    return "\n".join(lines)

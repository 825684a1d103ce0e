"""What a job says about the whole data set: per-class maps, global importance, failures."""
from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from explainers.dataset import store
from explainers.dataset.sources import BUILTIN, list_inputs, open_item
from models.base import ModelInfo
from models.errors import InputError

TOP = 10  # units listed per class
MIN_COUNT = 2  # a token must occur this often to be listed among a class's top tokens
N_LISTED = 20  # least-faithful inputs listed per method


def methods_of(df: Any) -> list[str]:
    return [c[5:] for c in df.columns if c.startswith("attr:")]


def _image_part(v: Any) -> np.ndarray | None:
    if isinstance(v, dict):
        return v.get("image")
    v = np.asarray(v)
    return v if v.ndim == 2 else None


def class_maps(df: Any, m: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Mean attribution map of the inputs predicted as each class (images; fusion's image)."""
    out = {}
    for c, name in enumerate(names):
        maps = [_image_part(v) for v, p in zip(df[f"attr:{m}"], df["pred"], strict=True)
                if int(p) == c]
        maps = [a for a in maps if a is not None]
        if maps:
            out[name] = {"mean": np.mean(np.stack(maps), 0), "count": len(maps)}
    return out


def _unit_rows(df: Any, m: str, feature_names: list[str]):
    """(unit, value, predicted class) for every unit of every row (tokens or features)."""
    units = df[f"units:{m}"] if f"units:{m}" in df.columns else None
    for i, (v, p) in enumerate(zip(df[f"attr:{m}"], df["pred"], strict=True)):
        v = v.get("text") if isinstance(v, dict) else v
        if v is None or np.asarray(v).ndim != 1:
            continue
        names = list(units.iloc[i]) if units is not None else feature_names
        for u, a in zip(names, np.asarray(v, dtype=float), strict=False):
            yield str(u), float(a), int(p)


def unit_importance(df: Any, m: str, names: list[str], feature_names: list[str]) -> dict:
    """Global mean |attribution| per unit, and per predicted class the units with the highest
    mean attribution (tokens seen fewer than MIN_COUNT times are left out for text)."""
    import pandas as pd

    rows = pd.DataFrame(list(_unit_rows(df, m, feature_names)), columns=["unit", "a", "pred"])
    if not len(rows):
        return {}
    rows["abs"] = rows["a"].abs()
    min_count = 1 if f"units:{m}" not in df.columns else MIN_COUNT
    g = rows.groupby("unit").agg(mean_abs=("abs", "mean"), count=("a", "size"))
    g = g[g["count"] >= min_count].sort_values("mean_abs", ascending=False)
    top = {}
    for c, name in enumerate(names):
        per = rows[rows["pred"] == c].groupby("unit").agg(mean=("a", "mean"), count=("a", "size"))
        per = per[per["count"] >= min_count].sort_values("mean", ascending=False).head(TOP)
        top[name] = [{"unit": u, "mean": float(r["mean"]), "count": int(r["count"])}
                     for u, r in per.iterrows()]
    glob = [{"unit": u, "mean_abs": float(r["mean_abs"]), "count": int(r["count"])}
            for u, r in g.head(max(TOP * 3, len(feature_names))).iterrows()]
    return {"global": glob, "top_per_class": top}


def misclassified(df: Any, names: list[str]) -> list[dict[str, Any]]:
    """Labelled inputs predicted wrongly, most confident first."""
    wrong = df[df["label"].notna()]
    wrong = wrong[wrong["label"].astype(int) != wrong["pred"].astype(int)]
    wrong = wrong.sort_values("confidence", ascending=False)
    return [{"id": r["id"], "label": names[int(r["label"])], "pred": names[int(r["pred"])],
             "confidence": float(r["confidence"])} for _, r in wrong.iterrows()]


def least_faithful(df: Any, m: str) -> list[dict[str, Any]]:
    col = f"faith:{m}"
    if col not in df.columns:
        return []
    low = df[["id", col, "pred"]].dropna().sort_values(col).head(N_LISTED)
    return [{"id": r["id"], "score": float(r[col]), "pred": int(r["pred"])}
            for _, r in low.iterrows()]


def summaries(out: str | Path) -> dict[str, Any]:
    """Per-class mean maps (images), global importance + top units per class (text, tabular),
    misclassified ids, least-faithful ids per method (jobs run with faithfulness)."""
    man = store.read_manifest(out)
    df = store.load(out)
    names, features = man["model"]["class_names"], man["model"]["feature_names"]
    modality = man["model"]["modality"]
    res: dict[str, Any] = {"modality": modality, "class_names": names, "n": int(len(df)),
                           "methods": methods_of(df), "class_maps": {}, "importance": {},
                           "misclassified": misclassified(df, names) if len(df) else [],
                           "least_faithful": {}}
    for m in res["methods"]:
        if modality in ("image", "fusion"):
            res["class_maps"][m] = class_maps(df, m, names)
        if modality in ("text", "tabular", "fusion"):
            res["importance"][m] = unit_importance(df, m, names, features)
        res["least_faithful"][m] = least_faithful(df, m)
    return res


@functools.lru_cache(maxsize=8)
def _listing(out: str, stamp: float) -> dict[str, Any]:
    man = store.read_manifest(out)
    info = man["model"]
    fake = SimpleNamespace(info=ModelInfo(info["name"], info["modality"],
                                          tuple(info["class_names"]),
                                          tuple(info["feature_names"])))
    listing = list_inputs(man["data"]["path"], fake, man["seed"])
    return {it.id: it.ref for it in listing.items}


def raw_input(out: str | Path, id: str, model: Any = None) -> Any:
    """The raw input of one row (as explain() takes it), to open it on the Explain page."""
    man = store.read_manifest(out)
    if man["data"]["path"] == BUILTIN:
        from models import load_model

        model = model or load_model(man["model"]["source"])
        try:
            return model.samples(None, seed=man["seed"])[int(id)][0]
        except (IndexError, ValueError) as exc:
            raise InputError(f"no input {id!r} in the bundled split") from exc
    path = Path(out) / store.MANIFEST
    refs = _listing(str(out), path.stat().st_mtime)
    if str(id) not in refs:
        raise InputError(f"no input {id!r} in {man['data']['path']!r}")
    return open_item(refs[str(id)])

"""Evaluation of labelled rows with scikit-learn: accuracy, per-class scores, confusion, calibration."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

N_BINS = 10


def calibration(correct: np.ndarray, confidence: np.ndarray, n_bins: int = N_BINS) -> dict:
    """Reliability bins of top-1 confidence (sklearn calibration_curve, uniform bins) and ECE.

    The counts use sklearn's own binning (np.searchsorted on the inner edges), so each bin's
    accuracy and confidence are exactly calibration_curve's; ECE = sum(count/N * |acc - conf|).
    """
    from sklearn.calibration import calibration_curve

    confidence = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)  # float32 softmax > 1
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], confidence)
    counts = np.bincount(ids, minlength=n_bins)
    acc, conf = calibration_curve(correct.astype(int), confidence, n_bins=n_bins,
                                  strategy="uniform", pos_label=1)
    bins, k = [], 0
    for b in range(n_bins):
        if counts[b] == 0:
            continue
        bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "confidence": float(conf[k]),
                     "accuracy": float(acc[k]), "count": int(counts[b])})
        k += 1
    n = max(1, int(counts.sum()))
    ece = sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins)
    return {"n_bins": n_bins, "strategy": "uniform", "bins": bins, "ece": float(ece)}


def evaluate(labels: Sequence[int], preds: Sequence[int], confidence: Sequence[float],
             class_names: Sequence[str]) -> dict[str, Any]:
    """metrics.json for rows with a known label (sklearn computes every number)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    y = np.asarray(labels, dtype=int)
    p = np.asarray(preds, dtype=int)
    classes = list(range(len(class_names)))
    prec, rec, f1, support = precision_recall_fscore_support(
        y, p, labels=classes, zero_division=0)
    per_class = {str(class_names[c]): {"precision": float(prec[c]), "recall": float(rec[c]),
                                       "f1": float(f1[c]), "support": int(support[c])}
                 for c in classes}
    macro = precision_recall_fscore_support(y, p, labels=classes, average="macro",
                                            zero_division=0)
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, p)),
        "macro": {"precision": float(macro[0]), "recall": float(macro[1]), "f1": float(macro[2])},
        "per_class": per_class,
        "class_names": [str(c) for c in class_names],
        "confusion_matrix": confusion_matrix(y, p, labels=classes).tolist(),
        "calibration": calibration(y == p, np.asarray(confidence, dtype=float)),
    }


def metrics_for(df: Any, class_names: Sequence[str]) -> dict[str, Any] | None:
    """Metrics over the rows of load(DIR) whose label is known; None when there are none."""
    known = df[df["label"].notna()] if len(df) else df
    if not len(known):
        return None
    out = evaluate(known["label"].astype(int).tolist(), known["pred"].astype(int).tolist(),
                   known["confidence"].astype(float).tolist(), class_names)
    out["n_unlabelled"] = int(len(df) - len(known))
    return out

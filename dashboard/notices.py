"""Doubts shown where they arise: one warning per explainers.doubts.Doubt, with its one-click fix."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import streamlit as st

from dashboard import cache, state
from dashboard.inputs import UserInput
from explainers import Attribution
from explainers.bounded import memo
from explainers.doubts import Doubt, close_call, far_from_training, result_doubts
from explainers.metrics.ood import Calibration, calibrate, ood_score
from explainers.metrics.sanity import Sanity
from models import ModelAdapter
from models.errors import USER_ERRORS

log = logging.getLogger(__name__)
ICON = ":material/warning:"
LOCK_WAIT_S = 0.5  # the OOD check needs a forward; it does not queue behind another request


@memo(max_entries=16, max_mb=16, copy=False)
def calibration(model_key: str) -> Calibration:
    """The model's out-of-distribution thresholds, from its bundled samples, once per process."""
    return calibrate(cache.resolve(model_key))


def _more_steps(method: str, steps: int) -> None:
    """Button callback: set the method's n_steps widget and ask the Explain page to re-run."""
    state.put(state.widget_key("param", method, "n_steps"), int(steps))
    state.put(state.RERUN, True)


def _target(index: int) -> None:
    state.put(state.TARGET, int(index))


def show(doubts: list[Doubt], key: str, method: str = "", fix: bool = True) -> None:
    """Each doubt as a warning; with `fix`, its action as a button under it."""
    for d in doubts:
        st.warning(d.message, icon=ICON)
        if not fix or d.action is None:
            continue
        what, value = d.action
        if what == "n_steps":
            st.button(f"Re-run with n_steps = {value}", key=key + "::more_steps",
                      on_click=_more_steps, args=(method, value))
        elif what == "target":
            st.button("Target the runner-up", key=key + "::runner_up", on_click=_target,
                      args=(value,), help="Sets Target class in the sidebar to the second class.")


def prediction_doubts(model: ModelAdapter, inp: UserInput, probs: np.ndarray) -> list[Doubt]:
    """Far from the training data (calibrated on bundled samples) and a close top two."""
    found = [close_call(probs, model.info.class_names)]
    try:  # once per process, outside the lock below (its memo has a lock of its own)
        thresholds = calibration(cache.key(model))
    except USER_ERRORS as exc:  # a doubt that cannot be computed is not a doubt
        log.warning("OOD calibration failed on %s: %s", model.info.name, exc)
        return [d for d in found if d is not None]
    if not model.lock.acquire(timeout=LOCK_WAIT_S):  # another request holds the model: the
        log.info("OOD check on %s skipped: the model is busy", model.info.name)  # next rerun
        return [d for d in found if d is not None]
    try:
        score = ood_score(model, inp.raw, thresholds)
        found.insert(0, far_from_training(score))
    except USER_ERRORS as exc:  # a doubt that cannot be computed is not a doubt
        log.warning("OOD score failed on %s: %s", model.info.name, exc)
    finally:
        model.lock.release()
    return [d for d in found if d is not None]


def prediction_notices(model: ModelAdapter, inp: UserInput, probs: np.ndarray) -> None:
    show(prediction_doubts(model, inp, probs), "prediction")


def remember_sanity(model: ModelAdapter, inp: UserInput, report: Any) -> None:
    """Keep a trust report's sanity results per (model, method), with the input they came from."""
    if report is None:
        return
    seen = dict(state.get(state.SANITY_SEEN) or {})
    for row in report.methods:
        if row.sanity is not None:
            seen[(cache.key(model), row.sanity.method)] = (inp.key, inp.label, row.sanity)
    state.put(state.SANITY_SEEN, seen)


def sanity_for(model: ModelAdapter, inp: UserInput, method: str) -> tuple[Sanity, str] | None:
    """The Trust page's latest sanity result for this model and method, and where it was run."""
    found = (state.get(state.SANITY_SEEN) or {}).get((cache.key(model), method))
    if found is None:
        return None
    key, label, sanity = found
    return sanity, (" on this input" if key == inp.key else f" on {label} (Trust page)")


def result_notices(model: ModelAdapter, inp: UserInput, a: Attribution, key: str,
                   rerun: bool = False) -> None:
    """The doubts about one result, beside it: unconverged path, failed sanity check."""
    seen = sanity_for(model, inp, a.method)
    doubts = result_doubts(a, *(seen or ()))
    show(doubts, key, a.method, fix=rerun)

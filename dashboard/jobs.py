"""The one way a page runs a long job: progress bar, Cancel button, time limit, lock-wait line.

    with jobs.running("trust", "Scoring trust...", what="Scoring trust") as job:
        report = compute(progress=job.progress(0.0, 1.0, "Scoring trust..."), control=job.control)
        state.put(...)                     # skipped when the run is cancelled or times out

A run gets an explainers.control.Control (cancel token + time limit) that the core checks
between Captum batches. Cancel sets the token and records a one-line notice; the page shows it
with `notice(name)` and keeps what it showed before. A new run of the same job, or a page whose
input changed (`stop_stale`), stops the old run first. A run that has to wait for a model
another session is explaining says so on its bar.
"""
from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from dashboard import state
from explainers.control import Control, Progress
from models.errors import CancelledError, TimeLimitError

DEFAULT_LIMIT_S = float(os.environ.get("GLASSBOX_TIME_LIMIT", 300))  # 0 = no limit
# activation bytes per forward in a dashboard run: small batches, so Cancel and the time limit
# are seen within a fraction of a second even on imagenet-efficientnet on a CPU
BATCH_BYTES = int(float(os.environ.get("GLASSBOX_INTERACTIVE_BATCH_MB", 256)) * 2**20)


def time_limit() -> float | None:
    """The per-run time limit in seconds (sidebar setting, else GLASSBOX_TIME_LIMIT); None = none."""
    value = float(state.get(state.TIME_LIMIT, DEFAULT_LIMIT_S) or 0)
    return value if value > 0 else None


def limit_widget() -> None:
    """Sidebar: the time limit for one run (Explain, Compare, Trust, Compression, Data set)."""
    if state.TIME_LIMIT not in st.session_state:
        state.put(state.TIME_LIMIT, int(DEFAULT_LIMIT_S))
    st.sidebar.number_input("Time limit per run (s, 0 = none)", 0, 24 * 3600, step=30,
                            key=state.TIME_LIMIT, help="A longer run stops with one line "
                            "saying so; press Cancel to stop one sooner.")


def _running() -> dict[str, Any]:
    return dict(state.get(state.JOBS) or {})


def _cancel(name: str) -> None:
    """Cancel button callback: set the token of the run in progress, record the notice."""
    entry = _running().get(name)
    if entry is not None:
        entry["control"].stop()
        _note(name, f"Cancelled: {entry['what']} stopped before it finished; what was shown "
                    "before is kept.")


def _note(name: str, line: str | None) -> None:
    notes = dict(state.get(state.JOB_NOTICES) or {})
    notes[name] = line
    state.put(state.JOB_NOTICES, notes)


def notice(name: str, unless: bool = False) -> bool:
    """Show the one line about the last run of `name` that was cancelled or timed out (kept
    until the next run; not when `unless`, e.g. a new run starts now); True when shown."""
    line = None if unless else (state.get(state.JOB_NOTICES) or {}).get(name)
    if line:
        st.warning(line, icon=":material/stop_circle:")
    return bool(line)


def stop_stale(name: str, key: str) -> None:
    """Stop a run of `name` still going for another key (the input or settings changed)."""
    entry = _running().get(name)
    if entry is not None and entry["key"] != key:
        entry["control"].stop()


class Job:
    """A run in progress: its bar, its control, progress callbacks over parts of the bar."""

    def __init__(self, bar: Any, control: Control):
        self.bar = bar
        self.control = control
        self._ctx = contextvars.copy_context()  # bar updates stay out of cached replays
        self.frac = 0.0

    def show(self, frac: float, text: str) -> None:
        """Move the bar (from any call stack, a cached function included)."""
        self.frac = min(max(frac, 0.0), 1.0)
        self._ctx.run(self.bar.progress, self.frac, text=text)

    def progress(self, start: float, span: float, text: str) -> Progress:
        """progress(done, total) moving the bar from start to start + span, checking the
        control (cancel, time limit) first."""

        def update(done: int, total: int) -> None:
            self.control.check()
            self.show(start + span * (done / total if total else 1.0), text)

        return update

    def check(self) -> None:
        self.control.check()

    def bar_proxy(self) -> GuardedBar:
        """A stand-in for st.progress that checks the control on every update, for code that
        takes a bar (cache.ui_progress)."""
        return GuardedBar(self)


class GuardedBar:
    """bar.progress(value, text) and bar.empty(), checking the run's control first."""

    def __init__(self, job: Job):
        self.job = job

    def progress(self, value: float, text: str = "") -> None:
        self.job.check()
        self.job.show(value, text)

    def empty(self) -> None:
        self.job._ctx.run(self.job.bar.empty)


@contextmanager
def running(name: str, text: str, what: str = "the run", key: str = "") -> Iterator[Job]:
    """Bar + Cancel button for one run of `name`; CancelledError / TimeLimitError inside end
    the block with one line (the code after the raise is skipped, earlier results stay)."""
    old = _running().get(name)
    if old is not None:
        old["control"].stop()
    _note(name, None)
    bar = st.progress(0.0, text=text)
    slot = st.empty()
    slot.button("Cancel", key=f"cancel::{name}", on_click=_cancel, args=(name,),
                icon=":material/stop:")
    job = Job(bar, Control(time_limit=time_limit(), batch_bytes=BATCH_BYTES, what=what))
    job.control.on_wait = lambda line: job.show(job.frac, line)
    jobs = _running()
    jobs[name] = {"control": job.control, "what": what, "key": key}
    state.put(state.JOBS, jobs)
    try:
        yield job
    except TimeLimitError as exc:
        _stopped(name, bar, f"{exc}; raise the limit in the sidebar (Time limit per run) or "
                            "ask for less work.")
    except CancelledError as exc:
        _stopped(name, bar, f"Cancelled: {exc}; what was shown before is kept.")
    finally:
        slot.empty()
        jobs = _running()
        if jobs.get(name, {}).get("control") is job.control:
            jobs.pop(name)
            state.put(state.JOBS, jobs)


def _stopped(name: str, bar: Any, line: str) -> None:
    bar.empty()
    _note(name, line)
    st.warning(line, icon=":material/stop_circle:")

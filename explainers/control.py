"""Cooperative stop of a running explanation: a cancel token, a time limit, a wait on a model's lock.

A `Control` travels with one request (an explain() call, or every call of one dashboard run).
It is checked between Captum batches (through the progress callback every counted forward
calls) and while waiting for a model's lock, and raises models.errors.CancelledError (cancel
token set) or TimeLimitError (past the time limit). Nothing is returned from a stopped call, so
no partial result can be kept or cached; the model's hooks and lock are released on the way out.
"""
from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from models.errors import CancelledError, TimeLimitError

Progress = Callable[[int, int], Any]
WAIT_POLL_S = 0.05  # how often a waiting request looks at its token and its clock
_CURRENT: contextvars.ContextVar[Control | None] = contextvars.ContextVar("glassbox_control",
                                                                          default=None)


@dataclass
class Control:
    """Cancel token (threading.Event), time limit in seconds (None = none), what to call when
    the request has to wait for a model's lock, and a cap on activation bytes per forward (so
    the checks come often enough on large models: None = batch sizes from free memory only)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    time_limit: float | None = None
    on_wait: Callable[[str], Any] | None = None
    batch_bytes: int | None = None
    what: str = "the request"
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        """Set the cancel token: the run stops at its next check."""
        self.cancel.set()

    def check(self) -> None:
        """Raise CancelledError when cancelled, TimeLimitError when past the time limit."""
        if self.cancel.is_set():
            raise CancelledError(f"{self.what} was cancelled after {self.elapsed:.1f} s")
        if self.time_limit is not None and self.elapsed > self.time_limit:
            raise TimeLimitError(f"{self.what} stopped: it ran past its time limit of "
                                 f"{self.time_limit:g} s")

    def guard(self, progress: Progress | None) -> Progress:
        """A progress callback that checks this control first, then calls `progress`."""

        def checked(done: int, total: int) -> Any:
            self.check()
            return None if progress is None else progress(done, total)

        checked.control = self  # type: ignore[attr-defined]
        return checked

    def max_batch(self, per_sample_bytes: int) -> int | None:
        """The most samples per forward under `batch_bytes` (None when uncapped)."""
        if self.batch_bytes is None:
            return None
        return max(1, int(self.batch_bytes // max(1, per_sample_bytes)))

    @contextmanager
    def holding(self, lock: Any, name: str) -> Iterator[None]:
        """Hold `lock`; if another request holds it, say so through on_wait (once) and wait,
        checking the token and the clock, so a waiting request can be cancelled or time out."""
        if not lock.acquire(blocking=False):
            if self.on_wait is not None:
                self.on_wait(f"Waiting for another request on {name} to finish...")
            while not lock.acquire(timeout=WAIT_POLL_S):
                self.check()
        try:
            yield
        finally:
            lock.release()


def current() -> Control | None:
    """The control of the explanation running in this context (None outside one)."""
    return _CURRENT.get()


@contextmanager
def active(control: Control) -> Iterator[Control]:
    """Make `control` current for the code inside (read by batch sizing)."""
    token = _CURRENT.set(control)
    try:
        yield control
    finally:
        _CURRENT.reset(token)

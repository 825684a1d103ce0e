"""Domain errors shared by every layer: each subclasses a builtin and names the bad value."""
from __future__ import annotations


class GlassboxError(Exception):
    """Base for errors a user can cause; the UI shows the message on one line."""


class InputError(GlassboxError, ValueError):
    """A raw input that a model cannot take (wrong type, unreadable file, empty text)."""


class UnknownNameError(GlassboxError, KeyError):
    """A model, method or parameter name that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class ModelLoadError(GlassboxError, ValueError):
    """A model file or directory that cannot be loaded safely."""


class UnsupportedError(GlassboxError, ValueError):
    """A method that does not apply to a model (and why)."""


class CancelledError(GlassboxError, RuntimeError):
    """A long computation stopped by its progress callback or its cancel token."""


class TimeLimitError(CancelledError):
    """A computation stopped because it ran past its time limit."""


# What a user's input or settings can raise from a model or a method: the dashboard shows the
# message on one line (never a traceback); anything else is a bug and propagates.
USER_ERRORS: tuple[type[Exception], ...] = (GlassboxError, ValueError, RuntimeError)


class InputNotice(UserWarning):
    """Something was done to an input on the way in (cut to the model's context, 16-bit scaled):
    the input still runs; every surface says it (CLI 'notice:' line, dashboard info, warning)."""


class ModelRuntimeError(GlassboxError, RuntimeError):
    """A user's model misbehaved on an input: its forward raised, or returned NaN/inf or the
    wrong number of classes. One line naming the model; other models and pages are unaffected."""

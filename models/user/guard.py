"""A user model's forward, checked: an error inside it, NaN/inf logits or the wrong number of
classes become one ModelRuntimeError line naming the model (never a TorchScript traceback)."""
from __future__ import annotations

from typing import Any

import torch

from models.errors import GlassboxError, ModelRuntimeError


def first_line(exc: BaseException) -> str:
    """The line that says what went wrong: TorchScript puts it last, under its own traceback."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[-1] if "TorchScript" in lines[0] or lines[0].startswith("Traceback") else lines[0]
    return line.removeprefix("builtins.")[:300]


class CheckedForward:
    """Mixin for user adapters: forward() runs the model, then checks what came back."""

    info: Any

    def raw_forward(self, *x: torch.Tensor) -> Any:
        """The model's own forward (adapters with a special call override this, not forward)."""
        return super().forward(*x)  # type: ignore[misc]

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        name = self.info.name
        try:
            out = self.raw_forward(*x)
        except GlassboxError:
            raise
        except Exception as exc:  # noqa: BLE001  (user code: any error is the model's)
            raise ModelRuntimeError(f"{name}'s forward failed on this input: "
                                    f"{first_line(exc)}") from None
        n = self.info.num_classes
        if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[-1] != n:
            got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ModelRuntimeError(f"{name} returned {got} for this input; its {n} class names "
                                    f"need logits [batch, {n}]")
        if out.is_floating_point() and not torch.isfinite(out.detach()).all():
            kind = "NaN" if torch.isnan(out.detach()).any() else "infinite"
            raise ModelRuntimeError(f"{name} returned {kind} logits for this input; nothing "
                                    "can be explained from them")
        return out

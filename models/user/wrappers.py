"""Thin nn.Module wrappers: exported programs (no eval()), and fixed-batch modules run in chunks."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class FixedMode(nn.Module):
    """Holds a module whose train/eval mode was fixed when it was exported or scripted.

    `ExportedProgram.module()` raises NotImplementedError on eval(): the graph was captured in
    one mode (export in eval mode!). train()/eval() here only flip this wrapper's flag.
    A TorchScript module is held out of sight (not a registered child): ScriptModules refuse
    forward hooks, and code that hooks every submodule (memory probes, Captum) would fail on
    them; it still follows .to()/.cuda() and its parameters are frozen by the loader.
    """

    def __init__(self, inner: nn.Module, chunk: int = 0):
        super().__init__()
        if isinstance(inner, torch.jit.ScriptModule):
            object.__setattr__(self, "_script", inner)
        else:
            self.inner = inner
        self.chunk = chunk  # 0 = pass batches through; n = run n samples at a time

    @property
    def program(self) -> nn.Module:
        """The wrapped module (TorchScript or the exported program's GraphModule)."""
        return self.__dict__.get("_script") or self.inner

    def train(self, mode: bool = True) -> FixedMode:
        self.training = mode
        return self

    def _apply(self, fn: Any, recurse: bool = True) -> FixedMode:
        if "_script" in self.__dict__:
            self._script._apply(fn)
        return super()._apply(fn, recurse)

    def forward(self, *x: torch.Tensor) -> torch.Tensor:
        run = self.program
        if not self.chunk or x[0].shape[0] == self.chunk:
            return run(*x)
        n = x[0].shape[0]
        outs = [run(*(t[i:i + self.chunk] for t in x)) for i in range(0, n, self.chunk)]
        return torch.cat(outs, dim=0)


def needs_chunks(module: nn.Module, example: tuple[torch.Tensor, ...]) -> int:
    """0 if the module takes any batch size; else the batch size it was captured with (usually 1)."""
    b = example[0].shape[0]
    doubled = tuple(torch.cat([t, t], dim=0) for t in example)
    try:
        with torch.no_grad():
            out = module(*doubled)
    except (RuntimeError, AssertionError, ValueError, IndexError):
        return b
    if not isinstance(out, torch.Tensor) or out.shape[0] != 2 * b:
        return b
    return 0

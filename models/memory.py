"""Memory on a device: what is free now, and a one-line refusal when a model will not fit."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from models.errors import ModelLoadError

GB = 1 << 30
_CGROUP = Path("/sys/fs/cgroup")


def _cgroup_free() -> int | None:
    """Bytes left under a cgroup v2 memory limit, or None when there is no limit."""
    try:
        limit = (_CGROUP / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((_CGROUP / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None


def _meminfo_available() -> int | None:
    """MemAvailable from /proc/meminfo (free + reclaimable cache), or None off Linux."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ram_free() -> int:
    try:
        import psutil

        free = int(psutil.virtual_memory().available)
    except ImportError:
        free = _meminfo_available() or os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    capped = _cgroup_free()
    return min(free, capped) if capped is not None else free


def free_bytes(device: torch.device | str) -> int:
    """Free memory on a CUDA device (torch.cuda.mem_get_info), else available CPU RAM."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return _ram_free()


def human(n: int | float) -> str:
    """Bytes as '1.2 GB' / '340 MB'."""
    return f"{n / GB:.1f} GB" if n >= GB / 10 else f"{n / (1 << 20):.0f} MB"


def check_fits(need: int, device: torch.device | str, what: str,
               error: type[Exception] = ModelLoadError) -> None:
    """Raise `error` with one line when `need` bytes exceed the free memory on `device`."""
    free = free_bytes(device)
    if need > free:
        where = "GPU" if torch.device(device).type == "cuda" else "CPU RAM"
        raise error(f"{what} needs about {human(need)} but the {where} has {human(free)} free; "
                    "free memory or use a smaller model")

"""models.memory: free memory on the device and the one-line 'will not fit' refusal."""
from __future__ import annotations

import pytest

from models import memory
from models.errors import InputError, ModelLoadError


def test_free_cpu_memory_is_positive_and_below_total():
    import os

    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < memory.free_bytes("cpu") <= total


def test_check_fits_refuses_in_one_line(monkeypatch):
    monkeypatch.setattr(memory, "free_bytes", lambda device: 3 * memory.GB)
    memory.check_fits(2 * memory.GB, "cpu", "model x")  # fits: no error
    with pytest.raises(ModelLoadError, match=r"^model x needs about 5\.0 GB but the CPU RAM "
                                             r"has 3\.0 GB free") as err:
        memory.check_fits(5 * memory.GB, "cpu", "model x")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError):
        memory.check_fits(5 * memory.GB, "cpu", "explanation", error=InputError)


def test_human():
    assert memory.human(1536 * (1 << 20)) == "1.5 GB"
    assert memory.human(20 * (1 << 20)) == "20 MB"

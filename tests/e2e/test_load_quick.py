"""bench/load_sessions.py --quick end to end: its own loopback server, 1 and 2 Chromium sessions."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CHROMIUM, ROOT, _missing

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_quick_load_run_prints_the_table_and_sessions_match_the_serial_run(tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        _missing(f"{CHROMIUM} not found (apt-get install -y chromium fonts-liberation)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _missing("the playwright package is not installed (pip install playwright==1.65.2)")
    out = tmp_path / "load.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "load_sessions.py"), "--quick",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["1", "2"], done.stdout
    assert rows[-1].rstrip(" |").endswith("yes"), rows
    levels = json.loads(out.read_text())
    serial = {i: nums for i, _, nums in levels[0]["runs"][0]}
    assert len({n["digest"] for n in serial.values()}) == len(serial) == 2  # inputs differ
    for run in levels[1]["runs"]:
        assert {i: nums for i, _, nums in run} == serial
        assert all(nums["charts"] == 5 for _, _, nums in run)  # prediction + 2 per method


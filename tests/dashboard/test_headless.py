"""dashboard.headless (what bench/memory_curve.py drives): each press explains a new sample."""
from __future__ import annotations

from dashboard import headless, state
from explainers import bounded


def test_each_press_explains_the_chosen_sample_and_fills_the_bounded_cache():
    at = headless.start()
    explain = next(c for c in bounded._CACHES if c.name == "explain")
    before = len(explain)
    keys = set()
    for i in (3, 4):
        assert headless.press(at, i) == 2
        assert at.session_state[state.CURRENT]["label"].startswith(f"#{i} ")
        keys.add(at.session_state[state.RESULTS]["key"])
    assert len(keys) == 2 and len(explain) == before + 4  # two inputs x two methods, computed

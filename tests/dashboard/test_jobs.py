"""AppTest: a run past the per-run time limit (here: waiting on a model another request holds)
ends with one line, no traceback, and the results already on the page stay."""
from __future__ import annotations

import threading

from dashboard import cache, state
from tests.dashboard.helpers import errors, start

MODEL = "mnist-cnn"


def test_time_limit_while_waiting_for_the_models_lock_gives_one_line_and_keeps_results():
    at = start(MODEL)  # the first page explains by itself
    before = at.session_state[state.RESULTS]
    assert before["items"] and not at.warning
    model = cache.get_model(MODEL)  # the process-wide adapter the page uses
    held, release = threading.Event(), threading.Event()

    def other_request() -> None:  # another session explaining on the same model
        with model.lock:
            held.set()
            release.wait(60)

    t = threading.Thread(target=other_request)
    t.start()
    try:
        held.wait(10)
        at.session_state[state.TIME_LIMIT] = 1
        at.multiselect(key=f"methods::{MODEL}").set_value(["saliency"])
        at.button(key=state.RUN).click().run()
    finally:
        release.set()
        t.join()
    assert not at.exception and not errors(at)
    (line,) = [w.value for w in at.warning]
    assert "time limit of 1 s" in line and "\n" not in line
    assert "Time limit per run" in line  # says where to change it
    assert at.session_state[state.RESULTS] == before  # nothing lost, nothing half-stored
    # the next run, with the lock free, explains and drops the notice
    at.button(key=state.RUN).click().run()
    assert not at.exception and not at.warning
    (name, a), = at.session_state[state.RESULTS]["items"]
    assert name == "saliency" and not isinstance(a, str)

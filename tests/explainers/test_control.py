"""Cooperative stop: a cancel token and a time limit checked between Captum batches raise the
domain errors promptly, return nothing, and leave the model as found (lock free, no hooks)."""
from __future__ import annotations

import functools
import threading
import time

import numpy as np
import pytest

from explainers import explain
from explainers.control import Control
from models import load_model
from models.errors import CancelledError, TimeLimitError

# KernelSHAP with many samples in batches of one: hundreds of checks, seconds of work
LONG = {"n_samples": 3000, "feature_mask": "grid", "n_segments": 49}


@functools.cache
def mnist():
    m = load_model("mnist-cnn", device="cpu")
    return m, m.samples(1, seed=3)[0][0]


def hooks(m) -> int:
    return sum(len(getattr(mod, n)) for mod in m.module.modules()
               for n in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks"))


def lock_free(m) -> bool:
    """Another thread can take the model's lock at once (nobody left holding it)."""
    got = []

    def take() -> None:
        ok = m.lock.acquire(timeout=1)
        got.append(ok)
        if ok:
            m.lock.release()

    t = threading.Thread(target=take)
    t.start()
    t.join()
    return got[0]


def test_a_cancelled_run_stops_at_the_next_batch_and_leaves_nothing_behind():
    m, raw = mnist()
    before = hooks(m)
    ctl = Control(batch_bytes=1)  # one sample per forward: a check after each
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 50:
            ctl.stop()  # as a Cancel button would, from another thread or here

    with pytest.raises(CancelledError, match="cancelled"):
        explain(m, raw, "kernel_shap", control=ctl, progress=progress, **LONG)
    assert len(seen) == 50 and seen[-1] < 3000  # not one batch more
    assert lock_free(m) and hooks(m) == before
    # the model still explains, with the same numbers as a run that was never cancelled
    a = explain(m, raw, "saliency")
    b = explain(m, raw, "saliency", control=Control())
    np.testing.assert_array_equal(a.values, b.values)


def test_a_token_set_from_another_thread_stops_the_run_promptly():
    m, raw = mnist()
    ctl = Control(batch_bytes=1)
    threading.Timer(0.5, ctl.stop).start()
    start = time.monotonic()
    with pytest.raises(CancelledError):
        explain(m, raw, "kernel_shap", control=ctl, **LONG)
    assert time.monotonic() - start < 2.5
    assert lock_free(m)


def test_a_token_set_before_the_call_stops_it_before_any_work():
    m, raw = mnist()
    ctl = Control()
    ctl.stop()
    calls = []
    with pytest.raises(CancelledError):
        explain(m, raw, "integrated_gradients", control=ctl, progress=lambda d, t: calls.append(d))
    assert calls == []


def test_time_limit_stops_a_long_run_with_one_line():
    m, raw = mnist()
    ctl = Control(time_limit=0.2, batch_bytes=1, what="KernelSHAP")
    start = time.monotonic()
    with pytest.raises(TimeLimitError) as info:
        explain(m, raw, "kernel_shap", control=ctl, **LONG)
    assert time.monotonic() - start < 2.0
    msg = str(info.value)
    assert "\n" not in msg and "0.2 s" in msg and msg.startswith("KernelSHAP")
    assert isinstance(info.value, CancelledError)  # one except clause catches both
    assert lock_free(m)


def test_a_request_waiting_on_the_models_lock_says_so_and_can_be_cancelled():
    m, raw = mnist()
    lines = []
    ctl = Control(on_wait=lines.append)
    held, release = threading.Event(), threading.Event()

    def other_request():
        with m.lock:
            held.set()
            release.wait(5)

    t = threading.Thread(target=other_request)
    t.start()
    held.wait(5)
    threading.Timer(0.3, ctl.stop).start()
    with pytest.raises(CancelledError):
        explain(m, raw, "saliency", control=ctl)
    release.set()
    t.join()
    assert lines == [f"Waiting for another request on {m.info.name} to finish..."]
    # once the other request is done, a waiting request goes on and finishes
    lines.clear()
    assert explain(m, raw, "saliency", control=Control(on_wait=lines.append)).values.shape
    assert lines == []


def test_the_batch_cap_changes_batches_not_numbers():
    m, raw = mnist()
    a = explain(m, raw, "occlusion")
    b = explain(m, raw, "occlusion", control=Control(batch_bytes=1))
    assert b.extras.get("batch_size", 1) <= a.extras.get("batch_size", 1)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-4, atol=1e-4)  # float32 batching

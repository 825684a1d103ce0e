"""Bounded caches: past the bound, entries and bytes stay within it and the most recent stay."""
from __future__ import annotations

import pickle
import threading
import time

import numpy as np
import pytest
import torch

from explainers import bounded
from explainers.bounded import MB, BoundedLRU, deep_nbytes, memo


def test_lru_keeps_entries_and_bytes_within_bounds_and_the_most_recent():
    lru = BoundedLRU(max_entries=5, max_bytes=10_000, size=len)
    rng = np.random.default_rng(0)
    inserted = []
    for i in range(200):
        value = b"x" * int(rng.integers(1, 4000))
        lru.put(i, value)
        inserted.append((i, len(value)))
        assert len(lru) <= 5 and lru.total_bytes <= 10_000
        assert lru.total_bytes == sum(len(lru.get(k)) for k in lru.keys())
        assert i in lru  # the newest is always kept (each value fits the byte bound)
    kept = lru.keys()  # the kept ones are exactly the newest run that fits both bounds
    expected, total = [], 0
    for i, n in reversed(inserted):
        if len(expected) == 5 or total + n > 10_000:
            break
        expected.insert(0, i)
        total += n
    assert kept == expected


def test_lru_get_refreshes_recency_and_oversized_values_are_not_kept():
    lru = BoundedLRU(max_entries=3, max_bytes=100, size=len)
    for k in "abc":
        lru.put(k, b"1" * 10)
    assert lru.get("a") == b"1" * 10  # a becomes the most recent: b goes first
    lru.put("d", b"1" * 10)
    assert lru.keys() == ["c", "a", "d"]
    assert lru.put("huge", b"1" * 101) is False
    assert "huge" not in lru and lru.keys() == ["c", "a", "d"]
    assert BoundedLRU(0, 100, size=len).put("a", b"") is False


def test_memo_bounds_pickled_results_and_returns_copies():
    calls = []

    @memo(max_entries=4, max_mb=1)
    def square(n: int, _ignored: object = None) -> np.ndarray:
        calls.append(n)
        return np.full((100, 100), n, dtype=np.float64)  # 80 KB each: bytes bind before entries

    for n in range(30):
        assert square(n)[0, 0] == n
        assert len(square.cache) <= 4 and square.cache.total_bytes <= 1 * MB
    assert square(29, _ignored="anything") is not square(29)  # each hit gets its own copy
    assert calls.count(29) == 1  # underscore arguments are not part of the key
    square(0)
    assert calls.count(0) == 2  # evicted long ago: computed again
    blob = pickle.dumps(np.full((100, 100), 0.0), protocol=5)
    assert square.cache.total_bytes >= 4 * len(blob)


def test_memo_entries_bind_when_values_are_small():
    @memo(max_entries=3, max_mb=1)
    def ident(n: int) -> int:
        return n

    for n in range(10):
        ident(n)
    assert len(ident.cache) == 3
    assert [eval(k)[0][1] for k in ident.cache.keys()] == [7, 8, 9]  # the most recent three


def test_memo_of_objects_sizes_them_and_reports_eviction():
    gone = []

    @memo(max_entries=8, max_mb=1, copy=False, on_evict=gone.append)
    def layer(n: int) -> torch.nn.Linear:
        return torch.nn.Linear(n, n)

    first = layer(200)  # 200*200*4 + 200*4 bytes = ~161 KB
    assert layer(200) is first  # shared, not copied
    assert deep_nbytes(first) >= 200 * 201 * 4
    for n in range(201, 212):
        layer(n)
        assert layer.cache.total_bytes <= 1 * MB
    assert first in gone and len(layer.cache) < 8  # bytes bound first: ~6 layers fit in 1 MB


def test_memo_computes_once_for_concurrent_callers():
    calls = []

    @memo(max_entries=4, max_mb=1)
    def slow(n: int) -> int:
        calls.append(n)
        time.sleep(0.2)
        return n * 2

    out: list[int] = []
    threads = [threading.Thread(target=lambda: out.append(slow(3))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [6] * 6 and calls == [3]


def test_every_dashboard_cache_is_bounded():
    pytest.importorskip("streamlit")
    import dashboard.cache  # noqa: F401  (registers its caches)
    import dashboard.dataset_job  # noqa: F401
    import dashboard.trust_panel  # noqa: F401

    names = {s["name"] for s in bounded.stats()}
    for fn in ("get_model", "get_samples", "predict", "explain", "picture", "scores", "_load"):
        assert fn in names, names
    for s in bounded.stats():
        assert 0 < s["max_entries"] <= 1024 and 0 < s["max_bytes"] <= 8 * 1024 * MB, s


def test_deep_nbytes_sees_arrays_inside_objects():
    class Holder:
        def __init__(self):
            self.a = np.zeros(1000, dtype=np.float32)
            self.b = {"t": torch.zeros(500, dtype=torch.float64), "same": self.a}

    assert 4000 + 4000 <= deep_nbytes(Holder()) < 4000 + 4000 + 2000  # shared array counted once

"""Caches bounded by entries AND bytes: a thread-safe LRU, a size estimate, and a memo decorator.

`memo` is what the dashboard uses instead of st.cache_data / st.cache_resource: st.cache_data
bounds entries only (max_entries) and st.cache_resource neither bytes nor, by default, entries.
Here every cache evicts its least recently used entries until both its entry count and its
byte total are within bound; a value bigger than the whole byte bound is returned, not kept.
"""
from __future__ import annotations

import functools
import inspect
import pickle
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MB = 1 << 20
_CACHES: list[BoundedLRU] = []  # every memo cache in this process (stats, clear_all)


def deep_nbytes(obj: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Bytes an object holds: numpy/torch buffers, str/bytes, PIL pixels, containers and object
    attributes walked (each object once, 12 levels deep). An estimate: memory held outside
    Python (a Rust tokenizer, a C library's state) is not seen."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 12:
        return 0
    seen.add(id(obj))
    nbytes = getattr(obj, "nbytes", None)  # numpy arrays
    if isinstance(nbytes, int) and not callable(nbytes):
        return nbytes
    if hasattr(obj, "element_size") and hasattr(obj, "numel"):  # torch tensors and parameters
        return int(obj.element_size() * obj.numel())
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        return sys.getsizeof(obj)
    if hasattr(obj, "getbands") and hasattr(obj, "size"):  # PIL images
        return int(obj.size[0] * obj.size[1] * len(obj.getbands()))
    walk = functools.partial(deep_nbytes, _seen=seen, _depth=_depth + 1)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(walk(k) + walk(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(walk(v) for v in obj)
    attrs = getattr(obj, "__dict__", None)
    slots = [getattr(obj, s) for s in getattr(type(obj), "__slots__", ()) if hasattr(obj, s)]
    return sys.getsizeof(obj) + (walk(attrs) if isinstance(attrs, dict) else 0) + walk(slots)


class BoundedLRU:
    """Least-recently-used map holding at most `max_entries` entries and `max_bytes` bytes
    (each value's size from `size`, taken once on insert)."""

    def __init__(self, max_entries: int, max_bytes: int, size: Callable[[Any], int] = deep_nbytes,
                 on_evict: Callable[[Any, Any], None] | None = None, name: str = "") -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError(f"bounds must be >= 0, got {max_entries} entries, {max_bytes} bytes")
        self.max_entries, self.max_bytes, self.name = max_entries, max_bytes, name
        self._size, self._on_evict = size, on_evict
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.RLock()
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Any) -> bool:
        return key in self._items

    def get(self, key: Any, default: Any = None) -> Any:
        """The value (now the most recent) or `default`."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: Any, value: Any) -> bool:
        """Keep `value` (evicting the oldest entries to make room); False when it alone is over
        max_bytes or max_entries is 0, so it is not kept."""
        n = int(self._size(value))
        with self._lock:
            self.pop(key)
            if n > self.max_bytes or self.max_entries == 0:
                return False
            while self._items and (len(self._items) >= self.max_entries
                                   or self.total_bytes + n > self.max_bytes):
                self.pop(next(iter(self._items)))
            self._items[key] = (value, n)
            self.total_bytes += n
            return True

    def pop(self, key: Any) -> None:
        """Drop one entry (no error when absent)."""
        with self._lock:
            found = self._items.pop(key, None)
            if found is not None:
                self.total_bytes -= found[1]
                if self._on_evict is not None:
                    self._on_evict(key, found[0])

    def clear(self) -> None:
        with self._lock:
            for key in list(self._items):
                self.pop(key)

    def keys(self) -> list[Any]:
        """Keys from the least to the most recently used."""
        with self._lock:
            return list(self._items)


def _blob_size(item: tuple[str, bytes]) -> int:
    return len(item[0]) + len(item[1])


def memo(max_entries: int, max_mb: float, copy: bool = True,
         on_evict: Callable[[Any], None] | None = None) -> Callable:
    """Cache a function's results in a BoundedLRU, keyed (like st.cache_data) by the arguments
    whose names do not start with "_". copy=True keeps the pickled value (its exact size; each
    call gets its own copy, as st.cache_data does); copy=False keeps the object itself, shared
    by every caller, sized by deep_nbytes (models). Concurrent calls with one key compute once.
    `on_evict(value)` runs when a kept object (copy=False) leaves the cache."""
    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        evict = (lambda k, v: on_evict(v)) if on_evict is not None and not copy else None
        lru = BoundedLRU(max_entries, int(max_mb * MB), _blob_size if copy else deep_nbytes,
                         evict, fn.__qualname__)
        _CACHES.append(lru)
        locks: dict[str, threading.Lock] = {}
        guard = threading.Lock()

        @functools.wraps(fn)
        def cached(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            key = repr(tuple((k, v) for k, v in bound.arguments.items() if not k.startswith("_")))
            with guard:
                lock = locks.setdefault(key, threading.Lock())
            try:
                with lock:
                    found = lru.get(key)
                    if found is not None:
                        return pickle.loads(found[1]) if copy else found
                    value = fn(*args, **kwargs)
                    lru.put(key, (key, pickle.dumps(value, protocol=5)) if copy else value)
                    return value
            finally:
                with guard:
                    locks.pop(key, None)

        cached.cache = lru  # type: ignore[attr-defined]
        cached.clear = lru.clear  # type: ignore[attr-defined]
        return cached
    return decorate


def clear_all() -> None:
    """Empty every memo cache of this process (tests that need a cold cache)."""
    for lru in _CACHES:
        lru.clear()


def stats() -> list[dict[str, Any]]:
    """Per memo cache: name, entries, bytes and both bounds."""
    return [{"name": c.name, "entries": len(c), "bytes": c.total_bytes,
             "max_entries": c.max_entries, "max_bytes": c.max_bytes} for c in _CACHES]

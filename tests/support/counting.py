"""Counting the calls a run makes on a class's methods (CheckedDriver, a driver's class).

The core runs copies and planning in thread pools, so the count is kept under a lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

#: What a call counts as, from (the instance, the method's name, its positional arguments);
#: None: the call is not counted.
CallKey = Callable[[Any, str, tuple[Any, ...]], Hashable | None]


@contextmanager
def counting_calls(
    cls: type, methods: Iterable[str], key: CallKey, *, outermost_only: bool = False
) -> Iterator[Counter[Any]]:
    """While the block runs, each call of ``cls.<method>`` adds one under its ``key``.

    With ``outermost_only`` a call made inside another counted call of the same thread (the
    wrapper's own ``read_head`` through ``reader``) is not counted again.
    """
    calls: Counter[Any] = Counter()
    lock = threading.Lock()
    inside = threading.local()
    originals = {name: getattr(cls, name) for name in methods}

    def wrap(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth: int = getattr(inside, "depth", 0)
            counted_as = None if outermost_only and depth else key(self, name, args)
            if counted_as is not None:
                with lock:
                    calls[counted_as] += 1
            inside.depth = depth + 1
            try:
                return original(self, *args, **kwargs)
            finally:
                inside.depth = depth

        return counted

    for name, original in originals.items():
        setattr(cls, name, wrap(name, original))
    try:
        yield calls
    finally:
        for name, original in originals.items():
            setattr(cls, name, original)

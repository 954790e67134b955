"""Holding SIGINT and SIGTERM over the few steps that must not be cut in two (renames, locks)."""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def signals_held() -> Iterator[None]:
    """A SIGINT or SIGTERM that arrives while the block runs (a few renames) is noted and raised
    again once it is over, to whatever handler was there. Handled at Python's level, not by
    masking: a process-directed signal may land on any thread, and Python then interrupts the
    main thread whatever that thread's mask."""
    caught: list = []
    try:
        previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum))
                    for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:              # not the main thread: only it may set handlers
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])

"""SIGINT and SIGTERM: the exception the command unwinds with, and holding both over the few
steps that must not be cut in two (renames, locks)."""
from __future__ import annotations

import signal
from contextlib import contextmanager
from collections.abc import Iterator


#: The signals that stop a command: 128 + signal is its exit code.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT or SIGTERM: unwinds like Ctrl-C so every writer removes its temporary files.

    Not a KeyboardInterrupt, which click answers with a blank line before ours: a signal gives
    one line."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def raise_interrupted(signum: int, frame) -> None:
    """The command's handler for :data:`STOP_SIGNALS`."""
    # A second signal must not cut the clean-up short.
    for stop in STOP_SIGNALS:
        signal.signal(stop, signal.SIG_IGN)
    raise Interrupted(signum)


@contextmanager
def signals_held() -> Iterator[None]:
    """A SIGINT or SIGTERM that arrives while the block runs (a few renames) is noted and raised
    again once it is over, to whatever handler was there. Handled at Python's level, not by
    masking: a process-directed signal may land on any thread, and Python then interrupts the
    main thread whatever that thread's mask."""
    caught: list = []
    try:
        previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum))
                    for s in STOP_SIGNALS}
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

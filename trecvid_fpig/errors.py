"""The one exception type users see: bad input, reported as `file:line: what was expected`.

Library functions raise :class:`InputError`; the CLI prints its message and exits non-zero
without a traceback. Anything else escaping is a bug in the toolkit, not in the user's data.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union


def one_line(text: str) -> str:
    """`text` with its control characters escaped (a newline as ``\\n``): a file name or a value
    holding one still gives one line, which shows where it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class InputError(Exception):
    """A user-supplied file, id or value that the toolkit cannot accept."""

    def __init__(self, message: str, path: Optional[Union[str, Path]] = None,
                 line: Optional[int] = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
            where += ": "
        super().__init__(one_line(where + message))

    def __reduce__(self):
        """Keep path and line when the error crosses a process boundary (parallel scoring)."""
        return (type(self), (self.reason, self.path, self.line))


class InputWarning(UserWarning):
    """Input the toolkit accepts but cannot fully check; the CLI prints it as one line."""

"""A problem found in an input file, as (file, line, message): what the readers collect.

Readers of runs collect every problem instead of stopping at the first, so that one reader
serves both drivers: ``runs check`` lists them all, ``score`` refuses with the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..errors import InputError


@dataclass(frozen=True)
class Problem:
    path: str
    line: Optional[int]
    message: str
    rule: str = ""          # the submission rule that found it, to group problems by kind

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"

    @classmethod
    def of(cls, error: InputError, path, line: Optional[int] = None) -> "Problem":
        """`error` as a problem of `path`, at `line` when the error names none."""
        return cls(error.path or str(path), error.line if error.line is not None else line,
                   error.reason)

    def error(self) -> InputError:
        return InputError(self.message, self.path, self.line)


def refuse_first(problems: Sequence[Problem]) -> None:
    """Raise the first problem as the one-line :class:`InputError` a reader refuses with."""
    if problems:
        raise problems[0].error() from None

"""Whitespace-separated column files (qrels, runs): one fast split, a slow pass only to name a bad line."""
from __future__ import annotations

import re
from typing import List, Sequence

import numpy as np

from .errors import InputError

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def split_columns(text: str, ncols: int, path, layout: str) -> List[List[str]]:
    """The file's columns as lists of tokens, or an error naming the first line with the wrong count.

    Blank lines are allowed (NIST files often end without or with extra newlines).
    """
    tokens = text.split()
    nlines = sum(1 for line in text.splitlines() if line.strip())
    if len(tokens) != ncols * nlines:
        for lineno, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if fields and len(fields) != ncols:
                raise InputError(f"expected {ncols} whitespace-separated fields ({layout}), "
                                 f"found {len(fields)}: {line.strip()[:80]!r}", path, lineno)
    return [tokens[i::ncols] for i in range(ncols)]


def line_of_row(text: str, row: int) -> int:
    """1-based line number of the `row`-th non-blank line (for error messages only)."""
    seen = -1
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            seen += 1
            if seen == row:
                return lineno
    return seen + 1


def parse_numbers(tokens: Sequence[str], text: str, path, what: str) -> np.ndarray:
    """Tokens as float64; a non-number, NaN or infinity is an error naming its line."""
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any() or any("_" in t for t in tokens):
            raise ValueError
        return values
    except ValueError:
        for row, tok in enumerate(tokens):
            if not _NUMBER.match(tok) or not np.isfinite(float(tok)):
                raise InputError(f"{what} must be a finite number, got {tok!r}", path,
                                 line_of_row(text, row)) from None
        raise AssertionError("unreachable: every token parsed") from None
